"""YOLO26n's INT8 targets against its FP32 ONNX, in one interleaved bench (``--preset ultralytics``).

    python benchmarks/yolo26/int8.py YOLO26N.onnx [--out benchmarks/yolo26/int8.json] [--smoke]

YOLO26N.onnx is the converged checkpoint exported with its one-to-many head (what edgekit emits; NMS on the
host): ``edgekit export benchmarks/models/yolo26n-shapes-converged.pt --trust -t onnx-fp32`` in Ultralytics'
venv. Each target's drop in points and p50 ratio against the FP32 ONNX, the same images for all.

The end-to-end (NMS-free) head the same way, into ``int8-e2e.json``: export with ``--head e2e`` (the ONNX then
carries ``edgekit.decoding_format = xyxy-topk``) and pass it with ``--out benchmarks/yolo26/int8-e2e.json``; its
``yolo val nms=False`` figure is ``yolo_val_e2e.json`` (``benchmarks/yolov8n/yolo_val.py --nms-free``).

At 640 px: the same from ``benchmarks/models/yolo26n-shapes-640.pt`` (``--head o2m`` / ``--head e2e``), into
``int8-640.json`` / ``int8-640-e2e.json``; ``--previous`` also exports ORT with Percentile and TFLite with the
converter's MinMax (the defaults before MeanMinMax), benched in the same run (rows ``ort-int8@Percentile``, ...);
``--without-head-convs`` exports ORT and TFLite with ``float_head_convs=false`` too (the head's last convolutions
in INT8, the default before), rows ``ort-int8@int8-head-convs``, ... . ``--targets`` narrows the INT8 targets
(the FP32 ONNX is always first): the 640 px YOLOv8n and YOLO11n ran with ``--targets ort-int8``.
The converged 256 px YOLO26n ran with ``--without-head-convs`` too, into ``int8-256-head-convs.json`` /
``int8-256-e2e-head-convs.json`` (the current figures; ``int8.json`` / ``int8-e2e.json`` predate the float head convs).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import edgekit
from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance

HERE = Path(__file__).resolve().parent
TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]
#: ``--previous``: the calibration each target defaulted to before MeanMinMax, exported beside it
PREVIOUS = {"ort-int8": "Percentile", "tflite-int8": "MinMax"}
#: ``--without-head-convs``: the targets that keep the head's last convolutions float by default
HEAD_CONVS = ("ort-int8", "tflite-int8")


def summarise(document: dict[str, Any], labels: dict[str, str], timed: bool = True) -> dict[str, dict[str, Any]]:
    """Each INT8 row of a bench document whose first row is the FP32 parent, under its label (``labels``: artifact
    path -> label, else the target's name): mAP50-95, its drop in points, and (``timed``) the p50 ratio to FP32's
    with the fastest round's ratio beside it."""
    fp32 = document["results"][0]
    summary = {}
    for row in document["results"][1:]:
        entry: dict[str, Any] = {
            "map50_95": row["metrics"]["map50_95"],
            "drop_pts": round((fp32["metrics"]["map50_95"] - row["metrics"]["map50_95"]) * 100, 2),
        }
        for key in ("p50", "p50_best_round") if timed else ():
            entry[f"{key}_ratio"] = round(row["latency_ms"][key] / fp32["latency_ms"][key], 3)
        summary[labels.get(row["artifact"], row["target"])] = entry
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the one-to-many ONNX (or a built-in name for --smoke)")
    parser.add_argument("--out", type=Path, default=HERE / "int8.json")
    parser.add_argument("--smoke", action="store_true", help="onnx-fp32 and ort-int8, 8 images, one short round")
    parser.add_argument(
        "--previous", action="store_true", help="also the calibration ORT and TFLite used before MeanMinMax"
    )
    parser.add_argument(
        "--without-head-convs", action="store_true", help="also ORT and TFLite with the head's last convs in INT8"
    )
    parser.add_argument("--targets", nargs="+", default=TARGETS[1:], help="INT8 targets (default: all three)")
    args = parser.parse_args()
    targets = TARGETS[:2] if args.smoke else [TARGETS[0], *args.targets]
    calib = {"calib_images": 8} if args.smoke else {}
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if args.smoke else {"rounds": 5}
    with tempfile.TemporaryDirectory(prefix="edgekit-yolo26-") as work:
        rows = edgekit.export(args.model, targets, Path(work), data="shapes-det", **calib)
        labels = {str(row.path): row.target for row in rows}
        extra = [(t, method, {"calibration_method": method}) for t, method in PREVIOUS.items() if args.previous]
        if args.without_head_convs:
            extra += [(t, "int8-head-convs", {"float_head_convs": False}) for t in HEAD_CONVS if t in targets]
        for target, label, options in extra:
            (row,) = edgekit.export(
                args.model, [target], Path(work) / label, data="shapes-det", overrides={target: options}, **calib
            )
            rows.append(row)
            labels[str(row.path)] = f"{target}@{label}"
        failed = [row for row in rows if row.status != "ok"]
        if failed:
            raise SystemExit(f"{failed[0].target}: {failed[0].status}")
        preset = None if args.smoke else "ultralytics"
        document = edgekit.benchmark([row.path for row in rows], data="shapes-det", preset=preset, **timing).to_dict()
    summary = summarise(document, labels)
    report = {"provenance": provenance(), "model": Path(args.model).name, "summary": summary, "bench": document}
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
