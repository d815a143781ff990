"""The work of the reference applications for Python tasks: the same sizes and loops as the Rust
`workload` crate (src/lib.rs), so a task ported to Python does the same work."""

import math
import time

PAPER_WORK = {"burn": 7.0, "burn_reps": 2, "sieve": 500_000, "db_ms": 10, "sleep_ms": 500}


def work(payload):
    """The work sizes a request carries, with the paper's for any left out."""
    return {**PAPER_WORK, **((payload or {}).get("work") or {})}


def for_callee(payload, caller):
    """The payload for a callee of `caller`: same work sizes, no operation."""
    return {"work": work(payload), "from": caller}


def burn(n):
    """The paper's CPU loop: from n^7 down to 0, summing atan(i)·tan(i)."""
    total = 0.0
    for i in range(int(n**7), -1, -1):
        total += math.atan(i) * math.tan(i)
    return total


def burn_reps(w, n):
    result = 0.0
    for _ in range(max(1, w["burn_reps"])):
        result = burn(n)
    return result


def sieve(limit):
    """Number of primes up to `limit` by the sieve of Eratosthenes."""
    composite = bytearray(limit + 1)
    primes = 0
    for i in range(2, limit + 1):
        if not composite[i]:
            primes += 1
            composite[i * i :: i] = b"\x01" * len(range(i * i, limit + 1, i))
    return primes


def db_op(w):
    """An emulated database operation: the task waits, as it would for a network round trip."""
    if w["db_ms"] > 0:
        time.sleep(w["db_ms"] / 1000)
