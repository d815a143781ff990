"""IoT CS in Python: calls CSL (Python) and CSA (JavaScript) synchronously and concurrently and
combines their answers."""

import fusion
from workload import for_callee


def handle(payload):
    next = for_callee(payload, "CS")
    csl, csa = fusion.call_all([("CSL", next), ("CSA", next)])
    for result in (csl, csa):
        if isinstance(result, fusion.CallError):
            raise result
    return {"task": "CS", "csl": csl, "csa": csa}
