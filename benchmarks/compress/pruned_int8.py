"""Pruned + INT8 against the original, in ONE interleaved bench run (edgekit's venv).

    python benchmarks/compress/pruned_int8.py /tmp/small.pt yolov8n-shapes-p30 --data /tmp/shapes-yolo/data.yaml
    python benchmarks/compress/pruned_int8.py /tmp/relu.pt yolov8n-shapes-relu --data ... --label "relu (--act relu)"
    python benchmarks/compress/pruned_int8.py --from-pipeline runs/yolov8n-shapes-p50-int8 yolov8n-shapes-p50-pipeline

The original (``benchmarks/models/yolov8n-shapes.onnx`` unless ``--original``) and the compressed TorchScript
(``edgekit compress`` output) are both exported to onnx-fp32 / ort-int8 / openvino-int8 / tflite-int8 and
benched together (or an ``edgekit pipeline`` run with ``compare_original = true`` did the same: its
``results.json`` and ``pipeline.json`` are copied), so every row's p50 is a ratio to
the ORIGINAL FP32 ONNX of the same run and its mAP a drop from it. Writes
``benchmarks/compress/<name>-int8.{json,md}`` (latency: plain p50 over all rounds).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import edgekit
from edgekit.fsutil import write_text_atomic

HERE = Path(__file__).resolve().parent
ORIGINAL = HERE.parent / "models" / "yolov8n-shapes.onnx"
TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]


def _model(row: dict, label: str) -> str:
    return "original" if Path(row["artifact"]).parent.name == "original" else label


def _from_pipeline(run: Path, out: Path, name: str, label: str, rebench: Path | None) -> None:
    """Commit an ``edgekit pipeline`` run's bench (``<out>.json``, its summary beside it) and its table; with
    ``rebench``, the table and ``<out>.json`` come from that ``edgekit bench --json`` of the same artifacts
    (the pipeline's own bench is kept as ``<out>-pipeline-bench.json``)."""
    document = json.loads((run / "results.json").read_text())
    own = document["environment"]  # the pipeline's own bench, kept whichever document the table comes from
    summary = json.loads((run / "pipeline.json").read_text())
    if rebench:
        write_text_atomic(out.parent / f"{out.name}-pipeline-bench.json", json.dumps(document, indent=2) + "\n")
        document = json.loads(rebench.read_text())
    write_text_atomic(out.with_suffix(".json"), json.dumps(document, indent=2) + "\n")
    write_text_atomic(out.parent / f"{out.name}-summary.json", json.dumps(summary, indent=2) + "\n")
    table = _table(document, name, label)
    if rebench:
        share = own.get("foreign_cpu_share")
        load = "an unknown share" if share is None else f"{share * 100:.1f} %"
        table += (
            f"\nThe same artifacts re-benched with `edgekit bench --json`, {document['environment']['latency_rounds']} "
            f"rounds; the pipeline's own bench ({out.name}-pipeline-bench.json, {own.get('latency_rounds')} rounds) "
            f"ran with other processes at {load} of the CPU.\n"
        )
    write_text_atomic(out.with_suffix(".md"), table)
    print(table)


def _table(document: dict, name: str, label: str) -> str:
    rows = document["results"]
    base = next(r for r in rows if r["artifact"].endswith("original/onnx-fp32"))
    env = document["environment"]
    lines = [
        f"### {name}: {label} + INT8 vs the original FP32 ONNX",
        "",
        f"One interleaved `edgekit bench` run, {env['cpu']} ({', '.join(env.get('isa', []))}), "
        f"{env['threads']} threads, {env['latency_rounds']} rounds; p50 = plain median over all timed runs; "
        "drop and ratios against the original `onnx-fp32` of this run.",
        "",
        "| model | target | mAP50-95 | drop vs original FP32 (pts) | p50 ms | p50 / original FP32 | size MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row["status"] != "ok":
            lines.append(f"| {_model(row, label)} | {row['target']} | {row['status']} | | | | |")
            continue
        score = row["metrics"]["map50_95"]
        lines.append(
            f"| {_model(row, label)} | {row['target']} | {score:.4f} | "
            f"{(base['metrics']['map50_95'] - score) * 100:.2f} | {row['latency_ms']['p50']:.2f} | "
            f"{row['latency_ms']['p50'] / base['latency_ms']['p50']:.2f}x | {row['size_bytes'] / 1e6:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "compressed",
        type=Path,
        help="TorchScript from edgekit compress (or, with "
        "--from-pipeline, the output folder of an edgekit pipeline run)",
    )
    parser.add_argument("name")
    parser.add_argument("--data")
    parser.add_argument("--from-pipeline", action="store_true", help="COMPRESSED is a pipeline run: table it")
    parser.add_argument("--rebench", type=Path, help="with --from-pipeline: an idle re-bench of its artifacts")
    parser.add_argument("--original", type=Path, default=ORIGINAL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--label", default="pruned", help="what the compressed model is called in the table")
    parser.add_argument("--table-only", action="store_true", help="redo the Markdown from the committed JSON")
    parser.add_argument(
        "--out-dir", type=Path, default=HERE, help="where NAME-int8.{json,md} go (and --table-only reads the JSON)"
    )
    args = parser.parse_args()
    out = args.out_dir / f"{args.name}-int8"
    if args.from_pipeline:
        _from_pipeline(args.compressed, out, args.name, args.label, args.rebench)
        return
    if not args.data:
        parser.error("--data is required")
    if args.table_only:
        document = json.loads(out.with_suffix(".json").read_text())
        write_text_atomic(out.with_suffix(".md"), _table(document, args.name, args.label))
        return
    with tempfile.TemporaryDirectory(prefix="edgekit-pruned-int8-") as work:
        dirs = []
        for label, model, trust in (("original", str(args.original), False), (args.label, str(args.compressed), True)):
            rows = edgekit.export(model, TARGETS, Path(work) / label, data=args.data, trust=trust)
            failed = [f"{r.target}: {r.status}" for r in rows if r.status != "ok"]
            if failed:
                raise SystemExit(f"export of {label} failed: {failed}")
            dirs += [Path(work) / label / t for t in TARGETS]
        document = edgekit.benchmark(dirs, data=args.data, rounds=args.rounds, preset="ultralytics").to_dict()
    write_text_atomic(out.with_suffix(".json"), json.dumps(document, indent=2) + "\n")
    write_text_atomic(out.with_suffix(".md"), _table(document, args.name, args.label))
    print(_table(document, args.name, args.label))


if __name__ == "__main__":
    main()
