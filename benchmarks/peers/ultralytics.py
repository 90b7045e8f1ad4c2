"""Peer benchmark: the committed YOLOv8n exported by Ultralytics and by edgekit, benched in ONE interleaved run.

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/peer_exports.py /tmp/shapes-yolo/data.yaml /tmp/peers
    python benchmarks/peers/ultralytics.py /tmp/peers            # edgekit's venv

Every artifact is scored on shapes-det's 200 val images with ``--preset ultralytics`` (yolo val's settings),
its drop measured against the FP32 ONNX of the same run, its p50 as a ratio to that FP32 ONNX's p50 on
ONNX Runtime in the same run. Writes ``benchmarks/peers/ultralytics.{json,md}``.
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
PEER_FILES = {"fp32.onnx": "ultralytics onnx fp32", "int8.onnx": "ultralytics onnx int8 (ORT)",
              "int8_openvino_model": "ultralytics openvino int8 (NNCF)", "int8.tflite": "ultralytics tflite int8"}


def _table(document: dict, labels: dict[str, str], exports: dict, yolo_val: dict[str, float]) -> str:
    rows = document["results"]
    fp32 = next(r for r in rows if r["target"] == "onnx-fp32")
    env = document["environment"]
    lines = [f"### YOLOv8n (shapes-det, 256 px): edgekit vs Ultralytics {exports.get('ultralytics', '')} exports",
             "", f"One interleaved `edgekit bench` run, {env['cpu']} ({', '.join(env.get('isa', []))}), "
             f"{env['threads']} threads, {env['latency_rounds']} rounds; scored with `--preset ultralytics` "
             "on the 200 val images; drop and p50 ratio against `onnx-fp32` (ONNX Runtime) of this run; "
             "`yolo val`: Ultralytics' own score of its file (benchmarks/peers/yolo_val.json).", "",
             "| artifact | runtime | mAP50-95 | `yolo val` | drop vs FP32 (pts) | p50 ms | p50 / FP32 | size MB | "
             "size / FP32 |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        label = labels.get(row["artifact"], row["target"])
        if row["status"] != "ok":
            lines.append(f"| {label} | | | | | | | {row['status']} |")
            continue
        value, p50 = row["metrics"]["map50_95"], row["latency_ms"]["p50"]
        theirs = yolo_val.get(Path(row["artifact"]).name)
        lines.append(f"| {label} | {row['runtime']} | {value:.4f} | {'' if theirs is None else f'{theirs:.4f}'} "
                     f"| {(fp32['metrics']['map50_95'] - value) * 100:+.2f} "
                     f"| {p50:.2f} | {p50 / fp32['latency_ms']['p50']:.2f} | {row['size_bytes'] / 1e6:.2f} | "
                     f"{row['size_bytes'] / fp32['size_bytes']:.2f} |")
    failed = {name: info["status"] for name, info in exports.get("exports", {}).items() if info["status"] != "ok"}
    for name, status in failed.items():
        lines.append(f"\nUltralytics `{name}` not benched: its export {status}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peers", type=Path, help="OUT_DIR of benchmarks/yolov8n/peer_exports.py")
    parser.add_argument("--work", type=Path, default=Path("runs/peers"))
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    console = Console()
    rows = edgekit.export(str(MODEL), EDGEKIT_TARGETS, args.work / "edgekit", data="shapes-det", force=True)
    labels = {str(row.path): f"edgekit {row.target}" for row in rows if row.status == "ok"}
    peers = [args.peers / name for name in PEER_FILES if (args.peers / name).exists()]
    labels |= {str(path): PEER_FILES[path.name] for path in peers}
    document = edgekit.benchmark(list(labels), data="shapes-det", preset="ultralytics", runs=100, min_seconds=4.0,
                                 rounds=args.rounds).to_dict()
    exports = json.loads((args.peers / "exports.json").read_text())
    document["peers"] = exports
    write_text_atomic(HERE / "ultralytics.json", json.dumps(document, indent=2) + "\n")
    reference = json.loads((HERE / "yolo_val.json").read_text()) if (HERE / "yolo_val.json").is_file() else {}
    yolo_val = {entry["model"]: entry["map50_95"] for entry in reference.get("results", [])}
    markdown = _table(document, labels, exports, yolo_val)
    write_text_atomic(HERE / "ultralytics.md", markdown)
    console.print(markdown, markup=False, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
