"""Write Fusion tasks in Python.

A task is a module ``task.py`` with a function ``handle(input)`` that takes the request's JSON
value and returns the response's. It calls other tasks by name with :func:`call` (wait for the
result) or :func:`spawn` (fire and forget); whether the callee runs in the same process or in
another function is decided by the fusion setup, not by the task::

    import fusion

    def handle(reading):
        verdict = fusion.call("check", reading)   # sync: waits for the result
        fusion.spawn("archive", reading)          # async: runs on its own
        return {"alarm": verdict["alarm"]}

A failed call raises a :class:`CallError` subclass named for its kind. An exception that
escapes ``handle`` reaches the caller as an ``application`` error carrying the exception's type
and message. ``fusion build`` turns the module into a component with componentize-py.
"""

import json

from componentize_py_types import Err
from wit_world.imports import invoke as _host
from wit_world.imports import kv as _kv


class CallError(Exception):
    """A call to another task failed; ``kind`` is the WIT error kind, e.g. ``"not-found"``."""

    kind = "application"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return f"{self.kind}: {self.message}"


class NotFound(CallError):
    """No task of that name exists in the application."""

    kind = "not-found"


class Trapped(CallError):
    """The callee trapped."""

    kind = "trapped"


class Timeout(CallError):
    """The callee ran past its deadline."""

    kind = "timeout"


class Unavailable(CallError):
    """The function hosting the callee could not be reached."""

    kind = "unavailable"


class Rejected(CallError):
    """The call was refused (bad input, authentication, overload)."""

    kind = "rejected"


class Application(CallError):
    """The callee returned an error of its own."""

    kind = "application"


class Throttled(CallError):
    """The callee's function is at its concurrency limit or its async queue is full; retry later."""

    kind = "throttled"


class OutOfMemory(CallError):
    """The callee's environment would have exceeded its function's memory size."""

    kind = "out-of-memory"


_ERRORS = {
    _host.ErrorKind.NOT_FOUND: NotFound,
    _host.ErrorKind.TRAPPED: Trapped,
    _host.ErrorKind.TIMEOUT: Timeout,
    _host.ErrorKind.UNAVAILABLE: Unavailable,
    _host.ErrorKind.REJECTED: Rejected,
    _host.ErrorKind.APPLICATION: Application,
    _host.ErrorKind.THROTTLED: Throttled,
    _host.ErrorKind.OUT_OF_MEMORY: OutOfMemory,
}


def call(task, input=None):
    """Calls ``task`` with a JSON value and waits for its JSON result."""
    return _decode(task, call_bytes(task, _encode(task, input)))


def call_bytes(task, payload):
    """Calls ``task`` with raw bytes and waits for its raw result."""
    try:
        return _host.invoke(task, payload, _host.Mode.SYNC)
    except Err as err:
        raise _error(err.value) from None


def spawn(task, input=None):
    """Starts ``task`` without waiting for it; returns once the work was accepted."""
    spawn_bytes(task, _encode(task, input))


def spawn_bytes(task, payload):
    """Starts ``task`` with raw bytes without waiting for it."""
    try:
        _host.invoke(task, payload, _host.Mode.ASYNC)
    except Err as err:
        raise _error(err.value) from None


def call_all(calls):
    """Calls several ``(task, input)`` pairs synchronously and concurrently.

    Returns one entry per call, in order: the JSON result, or the :class:`CallError` it failed
    with (returned, not raised, so one failure does not hide the other results).
    """
    calls = list(calls)
    requests = [_host.Request(task, _encode(task, input)) for task, input in calls]
    results = []
    for (task, _), result in zip(calls, _host.invoke_all(requests)):
        if isinstance(result, Err):
            results.append(_error(result.value))
        else:
            results.append(_decode(task, result.value))
    return results


def serve(handler, payload):
    """Runs ``handler`` on a raw request payload; used by the component's export."""
    try:
        input = json.loads(payload) if payload else None
    except ValueError as err:
        raise Err(f"invalid input: {err}") from None
    try:
        output = handler(input)
    except Exception as err:  # noqa: BLE001 - every failure becomes the caller's typed error
        raise Err(_describe(err)) from None
    return json.dumps(output).encode()


def _describe(err):
    if isinstance(err, CallError):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _error(wit_error):
    return _ERRORS[wit_error.kind](wit_error.message)


def _encode(task, input):
    try:
        return json.dumps(input).encode()
    except (TypeError, ValueError) as err:
        raise Rejected(f"cannot encode the input for '{task}': {err}") from None


def _decode(task, output):
    try:
        return json.loads(output) if output else None
    except ValueError as err:
        raise Application(f"invalid response from '{task}': {err}") from None


class KvError(Exception):
    """A store operation failed; ``kind`` is ``"denied"``, ``"too-large"``, ``"not-a-number"`` or
    ``"unavailable"``."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self):
        return f"{self.kind}: {self.message}"


_KV_KINDS = {
    _kv.KvErrorKind.DENIED: "denied",
    _kv.KvErrorKind.TOO_LARGE: "too-large",
    _kv.KvErrorKind.NOT_A_NUMBER: "not-a-number",
    _kv.KvErrorKind.UNAVAILABLE: "unavailable",
}


def _kv_call(operation, *args):
    try:
        return operation(*args)
    except Err as err:
        raise KvError(_KV_KINDS[err.value.kind], err.value.message) from None


class kv:
    """The key-value stores the task is granted (``kv = ["cart"]`` in fusion.toml), shared by
    every task of the app granted them, fused or remote. Values are bytes; ``increment`` works on
    decimal integers, atomically."""

    @staticmethod
    def get(store, key):
        """The value of ``key``, or None."""
        return _kv_call(_kv.get, store, key)

    @staticmethod
    def set(store, key, value):
        """Sets ``key`` to ``value`` (bytes)."""
        _kv_call(_kv.set, store, key, value)

    @staticmethod
    def delete(store, key):
        """Removes ``key``, if present."""
        _kv_call(_kv.delete, store, key)

    @staticmethod
    def exists(store, key):
        """Whether ``key`` has a value."""
        return _kv_call(_kv.exists, store, key)

    @staticmethod
    def keys(store, prefix=""):
        """The keys starting with ``prefix``, in order (at most 1,000)."""
        return _kv_call(_kv.list_keys, store, prefix)

    @staticmethod
    def increment(store, key, delta=1):
        """Adds ``delta`` to the integer at ``key`` (absent is 0) and returns the sum."""
        return _kv_call(_kv.increment, store, key, delta)

    @staticmethod
    def compare_and_swap(store, key, expected, new):
        """Sets ``key`` to ``new`` only if its value is ``expected`` (None: absent)."""
        return _kv_call(_kv.compare_and_swap, store, key, expected, new)
