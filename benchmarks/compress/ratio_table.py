"""Seed 002's table: accuracy vs compression ratio (params, MACs, file size) and latency per runtime, at several
prune ratios, each compressed model and the original exported to every INT8 runtime and benched in ONE run.

    python benchmarks/compress/ratio_table.py nano-cls nano-cls --epochs 10 --kd-images 2048
    python benchmarks/compress/ratio_table.py benchmarks/models/yolov8n-shapes.pt yolov8n-shapes --trust \\
        --data /tmp/shapes-yolo/data.yaml --compress-with /tmp/ul/bin/edgekit --epochs 10 --kd-images 3000 \\
        --reuse 0=/tmp/yolov8n-shapes-control-e10.pt:benchmarks/compress/yolov8n-shapes-control-e10.json \
        --original benchmarks/models/yolov8n-shapes.onnx

Ratio 0 is the control: the unpruned model recovered with the same recipe and epochs as the pruned ones, so a
row's accuracy difference is the pruning's, not extra training's; the original (no training) is benched too.
Each compression runs through ``edgekit compress`` (``--compress-with`` names the executable: an Ultralytics
checkpoint needs the venv with the optional extra); ``--reuse RATIO=MODEL.pt:REPORT.json`` takes a finished one.
Writes ``benchmarks/compress/<name>-ratios.{json,md,png}``; latency is the plain p50 over all timed runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import edgekit
from edgekit.fsutil import write_text_atomic
from edgekit.report.files import plot
from edgekit.results import ResultsDocument

HERE = Path(__file__).resolve().parent
TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]


def _compress(args: argparse.Namespace, ratio: float, out: Path) -> tuple[Path, dict]:
    """(TorchScript, report) of ``args.model`` pruned by ``ratio`` of its MACs (0: recovery only); one that an
    earlier, interrupted run of this script left in the work folder is taken as it is."""
    report = out.with_suffix(".json")
    if out.is_file() and report.is_file():
        return out, json.loads(report.read_text())
    command = [
        args.compress_with,
        "compress",
        args.model,
        "--recover",
        "labels",
        "--epochs",
        str(args.epochs),
        "--kd-images",
        str(args.kd_images),
        "-o",
        str(out),
        "--json",
        str(report),
        "--force",
    ]
    command += ["--prune", str(ratio), "--prune-by", "macs"] if ratio else []
    command += ["--data", args.data] if args.data else []
    command += ["--trust"] if args.trust else []
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return out, json.loads(report.read_text())


def _reused(specs: list[str]) -> dict[float, tuple[Path, dict]]:
    found = {}
    for spec in specs:
        ratio, files = spec.split("=", 1)
        model, report = files.split(":", 1)
        found[float(ratio)] = (Path(model), json.loads(Path(report).read_text()))
    return found


def _metric(row: dict) -> str:
    return "map50_95" if "map50_95" in row["metrics"] else "top1"


def _table(name: str, document: dict, reports: dict[float, dict]) -> str:
    rows = {(Path(r["artifact"]).parent.name, r["target"]): r for r in document["results"]}
    original = rows[("original", "onnx-fp32")]
    metric = _metric(original)
    before = next(iter(reports.values()))["before"]
    env = document["environment"]
    lines = [
        f"### {name}: accuracy vs compression ratio, per runtime",
        "",
        f"One interleaved `edgekit bench` run, {env['cpu']} ({', '.join(env.get('isa', []))}), "
        f"{env['threads']} threads, {env['latency_rounds']} rounds; p50 = plain median over all timed runs, "
        f"as a ratio to the original FP32 ONNX of this run. {metric} on the val split. Ratio 0 = the control "
        "(unpruned, same recovery recipe and epochs).",
        "",
        f"| model | prune (MACs) | params | MACs | {' | '.join(TARGETS)} | ONNX MB | "
        + " | ".join(f"p50 {t}" for t in TARGETS)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * (2 * len(TARGETS) + 1),
    ]
    for label in ["original"] + [f"r{ratio:g}" for ratio in sorted(reports)]:
        after = reports[float(label[1:])]["after"] if label != "original" else before
        cells = [rows.get((label, t)) for t in TARGETS]
        scores = [f"{c['metrics'][metric]:.4f}" if c and c["status"] == "ok" else "failed" for c in cells]
        ratios = [
            f"{c['latency_ms']['p50'] / original['latency_ms']['p50']:.2f}x" if c and c["status"] == "ok" else "-"
            for c in cells
        ]
        fp32 = rows.get((label, "onnx-fp32"))
        lines.append(
            f"| {label} | {1 - after['macs'] / before['macs']:.0%} | "
            f"{after['params'] / before['params']:.2f}x "
            f"| {after['macs'] / before['macs']:.2f}x | {' | '.join(scores)} | "
            f"{fp32['size_bytes'] / 1e6 if fp32 else float('nan'):.2f} | {' | '.join(ratios)} |"
        )
    return "\n".join(lines) + "\n"


def _compress_and_bench(args: argparse.Namespace, work: Path) -> tuple[dict[float, tuple[Path, dict]], Any]:
    """Every ratio's compressed model (reused or made), then the original and each exported and benched."""
    reused = _reused(args.reuse)
    compressed = {}
    for ratio in (float(r) for r in args.ratios.split(",")):
        compressed[ratio] = reused.get(ratio) or _compress(args, ratio, work / f"r{ratio:g}.pt")
    dirs = []
    for label, model, trust in [("original", args.original or args.model, args.trust)] + [
        (f"r{ratio:g}", str(path), True) for ratio, (path, _) in sorted(compressed.items())
    ]:
        rows = edgekit.export(
            model,
            TARGETS[:2] if args.smoke else TARGETS,
            work / label,
            data=args.data,
            trust=trust,
            force=True,
            calib_images=16 if args.smoke else 128,
        )
        dirs += [work / label / row.target for row in rows if row.status == "ok"]
        print(label, [f"{row.target}: {row.status}" for row in rows], flush=True)
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if args.smoke else {"rounds": args.rounds}
    return compressed, edgekit.benchmark(dirs, data=args.data, **timing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="built-in name or checkpoint")
    parser.add_argument("name", help="output stem under benchmarks/compress/")
    parser.add_argument("--data")
    parser.add_argument("--trust", action="store_true")
    parser.add_argument("--ratios", default="0,0.3,0.5,0.7")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--kd-images", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compress-with", default=str(Path(sys.executable).with_name("edgekit")))
    parser.add_argument("--reuse", action="append", default=[], help="RATIO=MODEL.pt:REPORT.json")
    parser.add_argument("--work", type=Path, help="folder for models and exports (default: TMPDIR/edgekit-ratios-NAME)")
    parser.add_argument(
        "--original",
        help="what to export as the original (default: the model; an Ultralytics "
        "checkpoint: its committed ONNX, as this venv has no Ultralytics)",
    )
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where NAME-ratios.{json,md,png} go")
    parser.add_argument("--smoke", action="store_true", help="two targets, 16 calib images, one round")
    args = parser.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / f"edgekit-ratios-{args.name}"
    work.mkdir(parents=True, exist_ok=True)  # it stays: a rerun after a failure reuses what was compressed
    compressed, document = _compress_and_bench(args, work)
    reports = {ratio: report for ratio, (_, report) in compressed.items()}
    out = args.out_dir / f"{args.name}-ratios"
    raw = document.to_dict()
    write_text_atomic(
        out.with_suffix(".json"),
        json.dumps(
            {"bench": raw, "compress": {f"{ratio:g}": report for ratio, report in sorted(reports.items())}}, indent=2
        )
        + "\n",
    )
    write_text_atomic(out.with_suffix(".md"), _table(args.name, raw, reports))
    plot(ResultsDocument.from_dict(raw), out.with_suffix(".png"))
    print(_table(args.name, raw, reports))


if __name__ == "__main__":
    main()
