"""Does `edgekit gate` cry wolf on a busy machine, and does it still catch a real slowdown there? Measured.

    python benchmarks/gate_noise.py [--repeats 20] [--work /tmp/gate-noise]

nano-det is exported to onnx-fp32 / ort-int8 / openvino-int8 / tflite-int8, plus ``ort-int8-slow``: the same
ort-int8 with a side branch, one float convolution on the input (its outputs unchanged: added as zero), that
makes it about 1.3x slower (measured in the baseline run), a real regression of one INT8 artifact. A baseline
is benched on the idle machine. Then, in each setting (idle; one core kept busy by ``while True: pass``;
beside a real training job, an ``edgekit compress`` recovery), the five artifacts are timed ``--repeats``
times the way ``edgekit bench`` times them (interleaved rounds with the machine probe, the CPU share of other
processes recorded), and each run is gated against the baseline as it is ("unchanged") and with ort-int8
swapped for the slow one ("regressed"), each twice: as ``edgekit gate`` does now ("confirm": the smaller
growth of the ratio to the reference row and to the machine probe, re-timing of failed latency and of runs
timed on a busy machine or while the machine probe shifted, "inconclusive" when that holds on re-timing) and as
the gate did before ("plain": the ratio to the reference row alone, judged once). Scores are measured once
(they do not depend on the machine). Writes ``benchmarks/gate_noise.json`` with every verdict and its title,
ratio, CPU share and the wall time re-timing cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
from edgekit.bench.harness import BenchOptions, open_for_timing, results_document, score_artifact, time_with_probe
from edgekit.convert.run import export_model
from edgekit.fsutil import sha256_file, write_text_atomic
from edgekit.manifest import MANIFEST_NAME, host_environment
from edgekit.report.confirm import judge
from edgekit.report.gate import Thresholds
from onnx import TensorProto, helper

HERE = Path(__file__).resolve().parent
TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]
OPTIONS = BenchOptions(rounds=5, runs=50, min_seconds=1.0, warmup=10, data="shapes-det")
NEIGHBOURS = {
    "idle": None,
    "busy loop on one core": [sys.executable, "-c", "while True: pass"],
    "training job": [
        sys.executable,
        "-m",
        "edgekit.cli",
        "compress",
        "nano-det",
        "--prune",
        "0.3",
        "--recover",
        "labels",
        "--epochs",
        "50",
        "-o",
        "{work}/neighbour.pt",
        "--force",
    ],
}


def slowed(artifact: Path, out: Path, convs: int, width: int = 24, stride: int = 1) -> Path:
    """A copy of ``artifact`` (ONNX) with ``convs`` float 3x3 convs (``width`` channels, ``stride``) on its input
    whose mean, times 0, is added to its first output: the same outputs, more work."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(artifact, out)
    model = onnx.load(str(out / "model.onnx"))
    graph = model.graph
    source, channels, rng = graph.input[0].name, 3, np.random.default_rng(0)
    for i in range(convs):
        weight = rng.standard_normal((width, channels, 3, 3)).astype(np.float32) * 0.1
        graph.initializer.append(helper.make_tensor(f"slow_w{i}", TensorProto.FLOAT, weight.shape, weight.ravel()))
        graph.node.append(
            helper.make_node(
                "Conv", [source, f"slow_w{i}"], [f"slow_y{i}"], pads=[1, 1, 1, 1], strides=[stride, stride]
            )
        )
        source, channels = f"slow_y{i}", width
    graph.initializer.append(helper.make_tensor("slow_zero", TensorProto.FLOAT, [], [0.0]))
    first = graph.output[0].name
    graph.node.extend(
        [
            helper.make_node("ReduceMean", [source], ["slow_mean"], keepdims=0),
            helper.make_node("Mul", ["slow_mean", "slow_zero"], ["slow_nothing"]),
            helper.make_node("Add", [first + "_before_slow", "slow_nothing"], [first]),
        ]
    )
    for node in graph.node[:-3]:  # the original producer of the first output now feeds the Add
        node.output[:] = [first + "_before_slow" if name == first else name for name in node.output]
    onnx.save(model, str(out / "model.onnx"))
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    manifest["model_sha256"] = manifest["file_sha256"]["model.onnx"] = sha256_file(out / "model.onnx")
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return out


def _time(paths: list[Path], options: BenchOptions = OPTIONS) -> tuple[list, object, float | None]:
    return time_with_probe([open_for_timing(path, options) for path in paths], options)


def _document(rows: list, latencies: list, probe, share, keep: list[int]):
    timed = [dataclasses.replace(rows[i], latency=latencies[i]) for i in keep]
    return results_document(timed, OPTIONS, probe, share)


def _without_probe(document):
    environment = {k: v for k, v in document.environment.items() if k not in ("machine_probe_ms", "foreign_cpu_share")}
    return dataclasses.replace(document, environment=environment)


def gate_run(baseline, rows: list, paths: list[Path], thresholds: Thresholds) -> dict:
    """Time the five artifacts once; gate the unchanged and the regressed set, plain and with confirmation."""
    latencies, probe, share = _time(paths)
    record = {
        "foreign_cpu_share": share,
        "ratios": {},
        "p50_best_round_ms": {
            label: latency.p50_best_round
            for label, latency in zip(TARGETS + ["ort-int8-slow", "machine probe"], latencies + [probe])
        },
        "round_p50_ms": {
            label: list(latency.round_p50)
            for label, latency in zip(TARGETS + ["ort-int8-slow", "machine probe"], latencies + [probe])
        },
    }
    for case, keep in (("unchanged", [0, 1, 2, 3]), ("regressed", [0, 4, 2, 3])):
        current = _document(rows, latencies, probe, share, keep)
        record["ratios"][case] = current.rows[1].latency.p50_best_round / current.rows[0].latency.p50_best_round
        for mode in ("plain", "confirm"):
            start = time.perf_counter()
            if mode == "plain":  # the gate before: the ratio to the reference row alone, judged once
                verdict = judge(
                    _without_probe(baseline),
                    _without_probe(current),
                    dataclasses.replace(thresholds, max_reference_latency_growth=-1),
                    confirm=False,
                )
            else:
                verdict = judge(baseline, current, thresholds)
            failed = [line.split("|")[1:3] for line in verdict.markdown.splitlines() if "**FAIL**" in line]
            record[f"{case} {mode}"] = {
                "status": verdict.status,
                "seconds": round(time.perf_counter() - start, 1),
                "title": verdict.markdown.splitlines()[0].removeprefix("### "),
                "failed": [" ".join(cell.strip() for cell in cells) for cells in failed],
            }
    return record


def stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so a neighbour ``beside`` started is killed too."""
    raise KeyboardInterrupt


@contextmanager
def beside(setting: str, work: Path, command: list[str] | None = None) -> Iterator[Callable[[], None]]:
    """The setting's neighbour (``command``, else ``NEIGHBOURS[setting]``) running for the duration of the block,
    killed at its end with every process it started. The block gets a function that starts the neighbour again
    if it has ended (a training job finishes its epochs)."""
    command = command or NEIGHBOURS[setting]
    neighbour: list[subprocess.Popen] = []

    def keep_running() -> None:
        if command and (not neighbour or neighbour[-1].poll() is not None):
            neighbour.append(
                subprocess.Popen(
                    [part.format(work=work) for part in command],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            time.sleep(20)  # the training job loads, scores and starts its epochs

    keep_running()
    try:
        yield keep_running
    finally:
        for process in neighbour:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gate-noise"))
    parser.add_argument("--settings", nargs="+", default=list(NEIGHBOURS))
    parser.add_argument("--max-latency-growth", type=float, default=20.0, help="percent (gate.toml: 20)")
    args = parser.parse_args()
    arts = args.work / "arts"
    if not all((arts / t).is_dir() for t in TARGETS):
        export_model("nano-det", TARGETS, arts, force=True)
    paths = [arts / t for t in TARGETS] + [slowed(arts / "ort-int8", args.work / "slow" / "ort-int8", 1)]
    rows = [score_artifact(path, OPTIONS)[0] for path in paths]
    # the slow row must carry ort-int8's label in the regressed set: the same target, one of the two per document
    latencies, probe, share = _time(paths)  # idle: the baseline, and how much slower the slow one is
    if share is None or share > 0.05:
        raise SystemExit(f"the machine is not idle (other processes took {share} of the CPU): stop them first")
    baseline = _document(rows, latencies, probe, share, [0, 1, 2, 3])
    factor = latencies[4].p50_best_round / latencies[1].p50_best_round
    thresholds = Thresholds(max_latency_growth=args.max_latency_growth, max_reference_latency_growth=50.0)
    results: dict = {
        "environment": host_environment(),
        "bench_options": dataclasses.asdict(OPTIONS),
        "baseline_p50_best_round_ms": {
            label: latency.p50_best_round for label, latency in zip(TARGETS + ["ort-int8-slow"], latencies)
        }
        | {"machine probe": probe.p50_best_round},
        "slow_factor_idle": factor,
        "thresholds": {"max_latency_growth": args.max_latency_growth, "max_reference_latency_growth": 50.0},
        "baseline_foreign_cpu_share": share,
        "settings": {},
    }
    for setting in args.settings:
        runs = []
        with beside(setting, args.work):
            for i in range(args.repeats):
                runs.append(gate_run(baseline, rows, paths, thresholds))
                print(
                    setting,
                    i + 1,
                    {
                        k: v["status"] if isinstance(v, dict) and "status" in v else v
                        for k, v in runs[-1].items()
                        if k != "round_p50_ms"
                    },
                    flush=True,
                )
        results["settings"][setting] = {
            "runs": runs,
            "counts": {
                key: dict(Counter(run[key]["status"] for run in runs))
                for key in ("unchanged plain", "unchanged confirm", "regressed plain", "regressed confirm")
            },
            "confirm_seconds_mean": float(
                np.mean([run[f"{c} confirm"]["seconds"] for run in runs for c in ("unchanged", "regressed")])
            ),
        }
        write_text_atomic(HERE / "gate_noise.json", json.dumps(results, indent=2) + "\n")
    for setting, data in results["settings"].items():
        print(setting, data["counts"], f"re-timing {data['confirm_seconds_mean']:.1f} s on average")


if __name__ == "__main__":
    main()
