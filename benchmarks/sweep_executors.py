"""The same sweep on both executors, one after the other on this machine: wall time, Ray's overhead, and
whether every row's accuracy is identical. Ray binds the machine's address, so run this inside a loopback-only
network namespace (as root)::

    unshare -n sh -c 'ip link set lo up && python benchmarks/sweep_executors.py'

Each executor starts from an empty store (nothing reused) and runs ``--jobs 2`` / a 2-CPU local Ray cluster.
Writes ``benchmarks/sweeps/executors.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from edgekit.fsutil import write_text_atomic
from edgekit.manifest import host_environment
from edgekit.sweeps import load_sweep, run_sweep

HERE = Path(__file__).resolve().parent
GRID = """model = "nano-det"
data = "shapes-det"
output = "{output}"
store = "{store}"
[grid]
prune = {prune}
epochs = [0]
targets = {targets}
[[grid.calibration]]
name = "c32"
calib_images = 32
[[grid.calibration]]
name = "minmax-64"
calib_images = 64
overrides = {{ ort-int8 = {{ calibration_method = "MinMax" }} }}
[bench]
rounds = {rounds}
"""


def one(executor: str, work: Path, rounds: int, smoke: bool = False) -> dict:
    """One sweep on ``executor`` from an empty store: wall time, cells, every row's metrics (``smoke``: a grid
    of two cells)."""
    path = work / f"{executor}.toml"
    prune, targets = (
        ([0.0], ["onnx-fp32", "ort-int8"])
        if smoke
        else ([0.0, 0.3], ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"])
    )
    path.write_text(
        GRID.format(
            output=work / executor,
            store=work / f"store-{executor}",
            rounds=rounds,
            prune=prune,
            targets=json.dumps(targets),
        )
    )
    result = run_sweep(load_sweep(path), executor, jobs=2, force=True, log=lambda line: print(executor, line))
    document, summary = result["document"], result["summary"]
    return {
        "wall_s": summary["wall_s"],
        "cells": summary["cells"],
        "metrics": {label: row.metrics for label, row in zip(document.labels(), document.rows)},
        "status": {label: row.status for label, row in zip(document.labels(), document.rows)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "sweeps" / "executors.json")
    parser.add_argument("--executors", nargs="+", default=["local", "ray"], choices=("local", "ray"))
    parser.add_argument("--smoke", action="store_true", help="a two-cell grid, one round (the CI smoke test)")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    work = Path(tempfile.mkdtemp(prefix="edgekit-executors-"))
    try:
        runs = {
            executor: one(executor, work, 1 if args.smoke else args.rounds, args.smoke) for executor in args.executors
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cells = sum(next(iter(runs.values()))["cells"]["ran"].values())
    document = {
        "environment": host_environment(),
        "cells": cells,
        **{f"{name}_wall_s": run["wall_s"] for name, run in runs.items()},
        "runs": runs,
    }
    if {"local", "ray"} <= runs.keys():  # the comparison this script exists for
        document["ray_overhead"] = runs["ray"]["wall_s"] / runs["local"]["wall_s"] - 1
        document["identical_metrics"] = runs["ray"]["metrics"] == runs["local"]["metrics"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps(document, indent=2) + "\n")
    walls = ", ".join(f"{name} {run['wall_s']:.1f} s" for name, run in runs.items())
    comparison = (
        f" (overhead {document['ray_overhead']:+.1%}); identical metrics: {document['identical_metrics']}"
        if "ray_overhead" in document
        else ""
    )
    print(f"{cells} cells: {walls}{comparison}")


if __name__ == "__main__":
    main()
