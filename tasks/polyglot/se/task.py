"""IoT SE in Python: stores the reading (one database write)."""

from workload import db_op, work


def handle(payload):
    db_op(work(payload))
    return {"task": "SE", "writes": 1}
