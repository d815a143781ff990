"""IoT CSL in Python: two database queries and one write."""

from workload import db_op, work


def handle(payload):
    w = work(payload)
    for _ in range(3):
        db_op(w)
    return {"task": "CSL", "queries": 2, "writes": 1}
