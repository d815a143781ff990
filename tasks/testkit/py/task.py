"""The test kit's Python task. By `op`: echo the input (the default), raise an exception, call
another task and report how that went, count in a key-value store, or try to reach outside the
sandbox."""

import os

import fusion


def handle(request):
    op = (request or {}).get("op", "echo")
    if op == "echo":
        return request
    if op == "raise":
        raise ValueError(request.get("message", "raised in Python"))
    if op == "call":
        return outcome(lambda: fusion.call(request["task"], request.get("input")))
    if op == "spawn":
        return outcome(lambda: fusion.spawn(request["task"], request.get("input")))
    if op == "count":
        return stored(lambda: fusion.kv.increment(request.get("store", "data"), request["key"], 1))
    if op == "snoop":
        return snoop()
    raise ValueError(f"unknown op {op!r}")


def outcome(run):
    """What the call gave: its result, or its typed error as the SDK raised it."""
    try:
        return {"ok": run()}
    except fusion.CallError as err:
        return {"error": {"class": type(err).__name__, "kind": err.kind, "message": err.message}}


def stored(run):
    """What the store operation gave: its result, or its typed error as the SDK raised it."""
    try:
        return {"ok": run()}
    except fusion.KvError as err:
        return {"error": {"class": type(err).__name__, "kind": err.kind, "message": err.message}}


def snoop():
    """Each attempt reports True if it got through, else the error it met."""

    def attempt(run):
        try:
            run()
            return True
        except Exception as err:  # noqa: BLE001 - any refusal counts as denied
            return f"{type(err).__name__}: {err}"

    def connect():
        import socket

        with socket.create_connection(("127.0.0.1", 22), timeout=1):
            pass

    return {
        "read_file": attempt(lambda: open("/etc/passwd").read()),
        "list_dir": attempt(lambda: os.listdir("/")),
        "write_file": attempt(lambda: open("/tmp/fusion-snoop", "w").write("x")),
        "env_vars": len(os.environ),
        "connect": attempt(connect),
    }
