#!/usr/bin/env python3
"""Prints criterion's median per benchmark, the fused-call overhead (fused minus direct) and the
function-boundary overhead (remote minus fused), each measured in the same run:
`python3 deploy/bench/medians.py` after `cargo bench`."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
medians = {}
for est in sorted(root.glob("*/*/new/estimates.json")):
    group, bench = est.parts[-4], est.parts[-3]
    medians[(group, bench)] = json.loads(est.read_text())["median"]["point_estimate"] / 1000.0
    print(f"{group:40} {bench:36} median {medians[(group, bench)]:8.1f} µs")
for group in sorted({g for g, _ in medians}):
    direct = medians.get((group, "host → echo"))
    fused = medians.get((group, "host → forward → echo (fused)"))
    if direct and fused:
        print(f"{group}: a fused sync call adds {fused - direct:.1f} µs ({fused / direct:.2f}× the direct call)")
    remote = medians.get((group, "echo remote"))
    fused = medians.get((group, "echo fused"))
    if remote and fused:
        print(f"{group}: crossing a function boundary adds {remote - fused:.1f} µs ({remote / fused:.2f}× fused)")
    baseline = medians.get((group, "host → store, no operation"))
    for op in ["get", "set", "increment"]:
        with_op = medians.get((group, f"host → store, {op}"))
        if baseline and with_op:
            print(f"{group}: {op} adds {with_op - baseline:.1f} µs to the call ({with_op / baseline:.2f}× the same call without it)")
