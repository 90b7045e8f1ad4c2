"""The gate's count lane on a busy machine: does it decide every run, and catch a 1.37x and a 5 % slowdown?

    python benchmarks/count_noise.py [--repeats 20 [N ...]] [--work /tmp/count-noise] [--settings idle ...]
        [--training-neighbour "shell command"] [--resume]

The wall-clock study's artifacts (``gate_noise.py``: nano-det's onnx-fp32 / ort-int8 / openvino-int8 / tflite-int8
and ``ort-int8-slow``, one float 3x3 conv of 24 channels on the input, about 1.37x slower in time) plus
``ort-int8-5pct``: the same side branch at stride 2, so that it executes 5.0 % more instructions than ort-int8 (the slow
one: 19.7 % more). A baseline is counted first (each artifact under valgrind's callgrind in a process of its own,
one thread, the way ``edgekit bench --count`` counts). Then in each setting (idle; one core kept busy; beside an
``edgekit compress`` training job, as in ``gate_noise.py``), every artifact is counted again ``--repeats`` times
and each run is gated against the baseline three ways: unchanged, with ort-int8 swapped for the slow one, and
swapped for the 5 % one. Scores are measured once (they do not depend on the machine). Writes
``benchmarks/count_noise.json``: every count, every verdict and its title, the CPU share other processes took
while counting and the wall time of each artifact's counting (the lane's cost).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from edgekit.bench.count import valgrind_version
from edgekit.bench.harness import (
    BenchOptions,
    CpuContention,
    open_artifact,
    open_for_timing,
    results_document,
    score_artifact,
    time_with_probe,
)
from edgekit.bench.run import with_counts
from edgekit.convert.run import export_model
from edgekit.fsutil import write_text_atomic
from edgekit.manifest import host_environment
from edgekit.provenance import provenance
from edgekit.report.confirm import judge
from edgekit.report.gate import Thresholds
from gate_noise import NEIGHBOURS, TARGETS, beside, slowed, stop_on_sigterm

HERE = Path(__file__).resolve().parent
OPTIONS = BenchOptions(data="shapes-det", count=True)
LABELS = TARGETS + ["ort-int8-slow", "ort-int8-5pct"]
#: the documents gated per run: which artifact stands in each of the four baseline rows
CASES = {"unchanged": [0, 1, 2, 3], "1.37x slower": [0, 4, 2, 3], "5 % more work": [0, 5, 2, 3]}


def count_all(rows: list, artifacts: dict, valgrind: str) -> tuple[list, float | None, float]:
    """Every row counted again, as ``edgekit bench --count`` counts them (one valgrind process per artifact, side by
    side on the usable cores): the rows, the foreign CPU share, the wall seconds of counting them all."""
    start = time.perf_counter()
    with CpuContention(children=True) as foreign:
        counted = with_counts(rows, artifacts, OPTIONS, valgrind)
    seconds = round(time.perf_counter() - start, 1)
    failed = [row.artifact for row in counted if row.instructions_per_inference is None]
    if failed:
        raise SystemExit(f"could not count {failed}: {[row.count for row in counted if row.artifact in failed]}")
    share = None if foreign.share is None else round(foreign.share, 4)
    return counted, share, seconds


def _document(rows: list, keep: list[int], share: float | None):
    """The rows ``keep`` names as one results document (the side-branch copies keep ort-int8's target label)."""
    return results_document([rows[i] for i in keep], OPTIONS, None, share)


def gate_run(baseline, rows: list, artifacts: dict, valgrind: str, thresholds: Thresholds) -> dict[str, Any]:
    """Count every artifact once; gate the unchanged set and the two regressed ones."""
    counted, share, seconds = count_all(rows, artifacts, valgrind)
    record: dict[str, Any] = {
        "foreign_cpu_share": share,
        "count_wall_s": seconds,
        "instructions_per_inference": {label: row.instructions_per_inference for label, row in zip(LABELS, counted)},
        "spread_pct": {label: row.count["spread_pct"] for label, row in zip(LABELS, counted)},
    }
    for case, keep in CASES.items():
        verdict = judge(baseline, _document(counted, keep, share), thresholds)
        record[case] = {
            "status": verdict.status,
            "title": verdict.markdown.splitlines()[0].removeprefix("### "),
            "failed": [line for line in verdict.markdown.splitlines() if "**FAIL**" in line],
        }
    return record


def markdown_table(results: dict[str, Any]) -> str:
    """The study's table (docs/gate.md quotes it; tests/test_figures.py renders it again from the JSON): per
    setting, the CPU share others took while counting, each case's verdicts, how far any count moved from the
    baseline's, the largest spread between one run's counted inferences, and the wall time of counting all six
    artifacts once (side by side)."""
    work = results["work_vs_ort_int8_pct"]
    lines = [
        f"| setting (CPU share of others) | unchanged | 1.37x slower (+{work['ort-int8-slow']:.1f} % instructions) "
        f"| 5 % more work (+{work['ort-int8-5pct']:.1f} %) | largest move of a count from the baseline "
        "| largest spread of a run's 3 counted inferences | counting six artifacts: median (range) |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    settings = sorted(results["settings"].items(), key=lambda item: list(NEIGHBOURS).index(item[0]))
    for setting, data in settings:
        runs = data["runs"]
        base = data.get("baseline", results["baseline"])["instructions_per_inference"]  # --resume: its own
        shares = [run["foreign_cpu_share"] * 100 for run in runs]
        moved = max(
            abs(count / run.get("baseline_instructions_per_inference", base)[label] - 1) * 100
            for run in runs
            for label, count in run["instructions_per_inference"].items()
        )
        spread = max(value for run in runs for value in run["spread_pct"].values())
        minutes = [run["count_wall_s"] / 60 for run in runs]
        verdicts = [", ".join(f"{n} {status}" for status, n in sorted(data["counts"][case].items())) for case in CASES]
        lines.append(
            f"| {setting} ({min(shares):.0f}-{max(shares):.0f} %) | {' | '.join(verdicts)} | {moved:.4f} % "
            f"| {spread:.3f} % | {statistics.median(minutes):.1f} min ({min(minutes):.1f}-{max(minutes):.1f}) |"
        )
    return "\n".join(lines) + "\n"


def resumed(fresh: dict[str, Any], base_counts: dict[str, int], seconds: float) -> tuple[dict, dict]:
    """``--resume``: the study so far (``count_noise.json``), and what each setting added now records of this
    invocation: the baseline it was gated against (counted anew), and its provenance. A setting the study already
    has keeps its runs; the new ones follow them, each carrying the baseline it was gated against. One line when the
    earlier counts came from another valgrind or machine."""
    earlier = json.loads((HERE / "count_noise.json").read_text())
    for key, value in (("valgrind", fresh["valgrind"]), ("cpu", fresh["environment"].get("cpu"))):
        then = earlier["valgrind"] if key == "valgrind" else earlier["environment"].get("cpu")
        if then != value:
            raise SystemExit(f"--resume: count_noise.json was counted with {key} {then!r}, this run has {value!r}")
    own = {"baseline": {"instructions_per_inference": base_counts, "count_wall_s": seconds}}
    return earlier, own | {"provenance": fresh["provenance"]}


def neighbour_command(setting: str, args: argparse.Namespace) -> list[str] | None:
    """What runs beside the counting in ``setting``: ``NEIGHBOURS``', or ``--training-neighbour`` for the training
    job."""
    if setting == "training job" and args.training_neighbour:
        return ["bash", "-c", args.training_neighbour]
    return NEIGHBOURS[setting]


def run_setting(
    setting: str, repeats: int, args: argparse.Namespace, baseline, rows, artifacts, valgrind, thresholds, on_run=None
) -> list[dict[str, Any]]:
    """``repeats`` gate runs beside the setting's neighbour; ``on_run`` is called with the runs so far after
    each one (the caller saves them)."""
    runs: list[dict[str, Any]] = []
    with beside(setting, args.work, neighbour_command(setting, args)) as keep_running:
        for i in range(repeats):
            keep_running()
            runs.append(gate_run(baseline, rows, artifacts, valgrind, thresholds))
            print(setting, i + 1, {case: runs[-1][case]["status"] for case in CASES}, runs[-1]["foreign_cpu_share"])
            if on_run:
                on_run(runs)
    return runs


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, nargs="+", default=[20], help="gate runs per setting (one, or each)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/count-noise"))
    parser.add_argument(
        "--training-neighbour", help="a shell command to run as the training job instead of the nano-det compress"
    )
    parser.add_argument("--settings", nargs="+", default=list(NEIGHBOURS))
    parser.add_argument("--width-5pct", type=int, default=24, help="channels of the 5 %% artifact's side conv")
    parser.add_argument("--stride-5pct", type=int, default=2, help="stride of the 5 %% artifact's side conv")
    parser.add_argument("--render", action="store_true", help="print the table of count_noise.json, count nothing")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="add the --settings to count_noise.json (each gated against a baseline counted anew, kept beside it)",
    )
    args = parser.parse_args()
    if args.render:
        print(markdown_table(json.loads((HERE / "count_noise.json").read_text())), end="")
        return
    arts = args.work / "arts"
    if not all((arts / t).is_dir() for t in TARGETS):
        export_model("nano-det", TARGETS, arts, force=True)
    paths = [arts / t for t in TARGETS] + [
        slowed(arts / "ort-int8", args.work / "slow" / "ort-int8", 1),
        slowed(arts / "ort-int8", args.work / "5pct" / "ort-int8", 1, args.width_5pct, args.stride_5pct),
    ]
    artifacts = {str(path): open_artifact(path, OPTIONS) for path in paths}
    scored = [score_artifact(path, OPTIONS)[0] for path in paths]
    # a results row carries a latency; the count lane never judges it, so one short timing serves every document
    latencies, _, _ = time_with_probe([open_for_timing(path, OPTIONS) for path in paths], OPTIONS)
    rows = [dataclasses.replace(row, latency=latency) for row, latency in zip(scored, latencies)]
    valgrind = valgrind_version()
    thresholds = Thresholds()  # the count lane's default: 2 % growth of counted instructions
    counted, share, seconds = count_all(rows, artifacts, valgrind)
    baseline = _document(counted, CASES["unchanged"], share)
    itself = judge(baseline, baseline, thresholds)
    if itself.status != "pass" or "(count lane)" not in itself.markdown:
        raise SystemExit(f"the baseline gated against itself did not pass in the count lane: {itself.markdown}")
    base_counts = {label: row.instructions_per_inference for label, row in zip(LABELS, counted)}
    results: dict[str, Any] = {
        "environment": host_environment(),
        "provenance": provenance(),
        "valgrind": valgrind,
        "baseline": {"instructions_per_inference": base_counts, "count_wall_s": seconds},
        "work_vs_ort_int8_pct": {
            label: round((base_counts[label] / base_counts["ort-int8"] - 1) * 100, 3) for label in LABELS[4:]
        },
        "thresholds": {"max_instruction_growth": thresholds.max_instruction_growth},
        "settings": {},
    }
    print("baseline", base_counts, results["work_vs_ort_int8_pct"], seconds, flush=True)
    own_baseline: dict[str, Any] = {}
    if args.resume:
        results, own_baseline = resumed(results, base_counts, seconds)
    earlier = dict(results["settings"])

    def save(setting: str, runs: list) -> None:
        neighbour = neighbour_command(setting, args)
        entry = {"neighbour": neighbour, **own_baseline, "runs": runs}
        if setting in earlier:  # --resume of a setting the study has: append, each new run naming its baseline
            added = {"neighbour": neighbour, **own_baseline, "runs": len(runs)}
            tagged = [run | {"baseline_instructions_per_inference": base_counts} for run in runs]
            entry = earlier[setting] | {"runs": earlier[setting]["runs"] + tagged}
            entry["added"] = earlier[setting].get("added", []) + [added]
        entry["counts"] = {case: dict(Counter(run[case]["status"] for run in entry["runs"])) for case in CASES}
        results["settings"][setting] = entry
        write_text_atomic(HERE / "count_noise.json", json.dumps(results, indent=2) + "\n")

    repeats = args.repeats * len(args.settings) if len(args.repeats) == 1 else args.repeats
    if len(repeats) != len(args.settings):
        raise SystemExit(f"--repeats takes one number or one per setting ({len(args.settings)})")
    for setting, count in zip(args.settings, repeats):
        runs = run_setting(
            setting, count, args, baseline, rows, artifacts, valgrind, thresholds, lambda runs, s=setting: save(s, runs)
        )
        save(setting, runs)
    for setting, data in results["settings"].items():
        print(setting, data["counts"])


if __name__ == "__main__":
    main()
