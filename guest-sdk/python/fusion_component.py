"""The component's export: ``fusion build`` builds this module with the task's ``task.py`` on the
path, so every Python task exports the same way."""

import fusion
import task


class WitWorld:
    def handle(self, payload: bytes) -> bytes:
        return fusion.serve(task.handle, payload)
