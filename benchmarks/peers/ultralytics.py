"""Peer benchmark: a committed YOLO exported by Ultralytics and by edgekit, benched in ONE interleaved run.

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/peer_exports.py /tmp/shapes-yolo/data.yaml /tmp/peers
    python benchmarks/peers/ultralytics.py /tmp/peers            # edgekit's venv
    # YOLO11n: peer_exports.py ... /tmp/peers11 benchmarks/models/yolo11n-shapes.pt, then
    python benchmarks/peers/ultralytics.py /tmp/peers11 --model benchmarks/models/yolo11n-shapes.onnx \
        --name ultralytics-yolo11n --variant "openvino-int8 (sigmoid float)":openvino-int8:float_types=Sigmoid

Every artifact is scored on shapes-det's 200 val images with ``--preset ultralytics`` (yolo val's settings),
its drop measured against the FP32 ONNX of the same run, its p50 as a ratio to that FP32 ONNX's p50 on
ONNX Runtime in the same run. ``--variant LABEL:TARGET:KEY=VALUE`` adds an edgekit export with one setting
changed (to compare a remedy in the same run). Writes ``benchmarks/peers/<name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

import edgekit
from edgekit.fsutil import write_text_atomic

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "models" / "yolov8n-shapes.onnx"
EDGEKIT_TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]
#: Ultralytics export -> (label, runtime it runs on)
PEER_FILES = {
    "fp32.onnx": "ultralytics onnx fp32",
    "int8.onnx": "ultralytics onnx int8 (ORT)",
    "int8_openvino_model": "ultralytics openvino int8 (NNCF)",
    "int8.tflite": "ultralytics tflite int8",
}


def _table(document: dict, labels: dict[str, str], exports: dict, yolo_val: dict[str, float], title: str) -> str:
    rows = document["results"]
    fp32 = next(r for r in rows if r["target"] == "onnx-fp32")
    env = document["environment"]
    lines = [
        f"### {title} (shapes-det, 256 px): edgekit vs Ultralytics {exports.get('ultralytics', '')} exports",
        "",
        f"One interleaved `edgekit bench` run, {env['cpu']} ({', '.join(env.get('isa', []))}), "
        f"{env['threads']} threads, {env['latency_rounds']} rounds; scored with `--preset ultralytics` "
        "on the 200 val images; drop and p50 ratio against `onnx-fp32` (ONNX Runtime) of this run; "
        "`yolo val`: Ultralytics' own score of its file (benchmarks/peers/yolo_val.json).",
        "",
        "| artifact | runtime | mAP50-95 | `yolo val` | drop vs FP32 (pts) | p50 ms | p50 / FP32 | size MB | "
        "size / FP32 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        label = labels.get(row["artifact"], row["target"])
        if row["status"] != "ok":
            lines.append(f"| {label} | | | | | | | {row['status']} |")
            continue
        value, p50 = row["metrics"]["map50_95"], row["latency_ms"]["p50"]
        theirs = yolo_val.get(Path(row["artifact"]).name)
        lines.append(
            f"| {label} | {row['runtime']} | {value:.4f} | {'' if theirs is None else f'{theirs:.4f}'} "
            f"| {(fp32['metrics']['map50_95'] - value) * 100:+.2f} "
            f"| {p50:.2f} | {p50 / fp32['latency_ms']['p50']:.2f} | {row['size_bytes'] / 1e6:.2f} | "
            f"{row['size_bytes'] / fp32['size_bytes']:.2f} |"
        )
    failed = {name: info["status"] for name, info in exports.get("exports", {}).items() if info["status"] != "ok"}
    for name, status in failed.items():
        lines.append(f"\nUltralytics `{name}` not benched: its export {status}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peers", type=Path, help="OUT_DIR of benchmarks/yolov8n/peer_exports.py")
    parser.add_argument("--work", type=Path, default=Path("runs/peers"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", type=Path, default=MODEL, help="the ONNX edgekit exports from")
    parser.add_argument("--name", default="ultralytics", help="output stem under benchmarks/peers/")
    parser.add_argument("--variant", action="append", default=[], help="LABEL:TARGET:KEY=VALUE")
    args = parser.parse_args()
    console = Console()
    rows = edgekit.export(str(args.model), EDGEKIT_TARGETS, args.work / "edgekit", data="shapes-det", force=True)
    labels = {str(row.path): f"edgekit {row.target}" for row in rows if row.status == "ok"}
    for index, spec in enumerate(args.variant):
        label, target, setting = spec.split(":", 2)
        key, value = setting.split("=", 1)
        variant = edgekit.export(
            str(args.model),
            [target],
            args.work / f"variant{index}",
            data="shapes-det",
            force=True,
            overrides={target: {key: value}},
        )
        labels |= {str(row.path): f"edgekit {label}" for row in variant if row.status == "ok"}
    peers = [args.peers / name for name in PEER_FILES if (args.peers / name).exists()]
    labels |= {str(path): PEER_FILES[path.name] for path in peers}
    document = edgekit.benchmark(
        list(labels), data="shapes-det", preset="ultralytics", runs=100, min_seconds=4.0, rounds=args.rounds
    ).to_dict()
    exports = json.loads((args.peers / "exports.json").read_text())
    document["peers"] = exports
    write_text_atomic(HERE / f"{args.name}.json", json.dumps(document, indent=2) + "\n")
    scored = HERE / "yolo_val.json"  # Ultralytics' own scores of the YOLOv8n exports only
    reference = json.loads(scored.read_text()) if scored.is_file() and args.model == MODEL else {}
    yolo_val = {entry["model"]: entry["map50_95"] for entry in reference.get("results", [])}
    title = "YOLOv8n" if args.model == MODEL else args.model.stem
    markdown = _table(document, labels, exports, yolo_val, title)
    write_text_atomic(HERE / f"{args.name}.md", markdown)
    console.print(markdown, markup=False, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
