"""The count lane's spread inference by inference: how far one counted inference strays from the others.

``edgekit bench --count`` counts 3 inferences per artifact, after 2 warm-ups, in one valgrind process; the gate
study (``count_noise.py``) saw those 3 agree within 0.05 % in 357 of 360 runs, and 0.20 % apart in 3, all under
load. This counts many more inferences per process, and many processes, exactly as the lane does (the same
``edgekit.bench.count.count_artifact``, the same timing input), so a rare stray shows where it falls::

    python benchmarks/count_spread.py ARTIFACT --processes 10 --runs 30 --setting "beside a sweep and two exports" \\
        --out benchmarks/count_lane/spread-nano-det-ort-int8.json

Per process: every count, its median, each count's deviation from it, and what ``bench --count`` would have
reported from that process (the spread of its first 3 counted inferences); overall: the largest deviation, the
largest first-3 spread, the CPU share other processes took while each process counted, and when each counted
inference ended (seconds after its process started, from its dump's time), so a stray that follows the clock
shows as such.

``--ort-telemetry on`` is the control for ONNX Runtime's telemetry, which the lane always turns off: with it on,
ORT's ``Run()`` logs telemetry events from the inference's own thread, some of them on timers. With ``--work DIR``
(a new or empty folder) the callgrind dumps stay in DIR to be read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edgekit.bench.count import (
    COUNTED_RUNS,
    build_helper,
    count_artifact,
    counted_dumps,
    spread_pct,
    valgrind_version,
)
from edgekit.bench.harness import CpuContention, open_artifact, timing_batch
from edgekit.bench.options import BenchOptions
from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance


def _pct(value: float, reference: float) -> float:
    return round((value - reference) / reference * 100, 5)


def count_process(
    artifact: Path, batch: Any, work: Path, helper: Path, runs: int, environment: dict[str, str]
) -> dict[str, Any]:
    """One valgrind process counting ``runs`` inferences; the CPU share others took meanwhile."""
    start, started_at = time.perf_counter(), time.time()
    with CpuContention(children=True) as foreign:
        events = count_artifact(artifact, batch, work, helper, runs=runs, environment=environment)
    counts = [item["Ir"] for item in events]
    ended = [round(path.stat().st_mtime - started_at, 1) for path, _ in counted_dumps(work)]
    median = statistics.median(counts)
    first = counts[:COUNTED_RUNS]
    return {
        "per_inference": counts,
        "median": median,
        "deviation_pct": [_pct(count, median) for count in counts],
        "ended_s": ended,
        "first_runs_spread_pct": spread_pct(first),
        "foreign_cpu_share": None if foreign.share is None else round(foreign.share, 4),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def summary(processes: list[dict[str, Any]]) -> dict[str, Any]:
    """The largest deviation of any count from its process's median, and of what the lane would have reported."""
    deviations = [abs(d) for process in processes for d in process["deviation_pct"]]
    return {
        "processes": len(processes),
        "counted_inferences": len(deviations),
        "max_deviation_pct": max(deviations),
        "over_0_05_pct": sum(d > 0.05 for d in deviations),
        "max_first_runs_spread_pct": max(process["first_runs_spread_pct"] for process in processes),
        "foreign_cpu_share": [process["foreign_cpu_share"] for process in processes],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30, help="counted inferences per process")
    parser.add_argument("--setting", default="idle", help="what else ran (recorded as said)")
    parser.add_argument("--ort-telemetry", choices=["off", "on"], default="off", help="on: the control (see above)")
    parser.add_argument("--work", type=Path, help="keep the callgrind dumps here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.work is not None and args.work.exists() and any(args.work.iterdir()):
        parser.error(f"--work {args.work} is not empty: its dumps would be counted with this run's")
    environment = {"ORT_DISABLE_TELEMETRY": "0" if args.ort_telemetry == "on" else "1"}
    valgrind = valgrind_version()
    options = BenchOptions()
    batch = timing_batch(open_artifact(args.artifact, options), options)
    processes = []
    with tempfile.TemporaryDirectory(prefix="count-spread-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        helper = build_helper(work)
        for index in range(args.processes):
            processes.append(count_process(args.artifact, batch, work / str(index), helper, args.runs, environment))
            print(f"process {index}: {processes[-1]['deviation_pct'][:6]} ...", flush=True)
    document = {
        "provenance": provenance(),
        "valgrind": valgrind,
        "artifact": str(args.artifact),
        "setting": args.setting,
        "ort_telemetry": args.ort_telemetry,
        "runs_per_process": args.runs,
        "summary": summary(processes),
        "processes": processes,
    }
    write_text_atomic(args.out, json.dumps(document, indent=2) + "\n")
    print(json.dumps(document["summary"], indent=2))


if __name__ == "__main__":
    main()
