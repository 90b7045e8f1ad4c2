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
converter's MinMax (the defaults before MeanMinMax), benched in the same run (rows ``ort-int8@Percentile``, ...).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import edgekit
from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance

HERE = Path(__file__).resolve().parent
TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]
#: ``--previous``: the calibration each target defaulted to before MeanMinMax, exported beside it
PREVIOUS = {"ort-int8": "Percentile", "tflite-int8": "MinMax"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the one-to-many ONNX (or a built-in name for --smoke)")
    parser.add_argument("--out", type=Path, default=HERE / "int8.json")
    parser.add_argument("--smoke", action="store_true", help="onnx-fp32 and ort-int8, 8 images, one short round")
    parser.add_argument(
        "--previous", action="store_true", help="also the calibration ORT and TFLite used before MeanMinMax"
    )
    args = parser.parse_args()
    targets = TARGETS[:2] if args.smoke else TARGETS
    calib = {"calib_images": 8} if args.smoke else {}
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if args.smoke else {"rounds": 5}
    with tempfile.TemporaryDirectory(prefix="edgekit-yolo26-") as work:
        rows = edgekit.export(args.model, targets, Path(work), data="shapes-det", **calib)
        labels = {str(row.path): row.target for row in rows}
        for target, method in PREVIOUS.items() if args.previous else ():
            (row,) = edgekit.export(
                args.model,
                [target],
                Path(work) / method,
                data="shapes-det",
                overrides={target: {"calibration_method": method}},
                **calib,
            )
            rows.append(row)
            labels[str(row.path)] = f"{target}@{method}"
        failed = [row for row in rows if row.status != "ok"]
        if failed:
            raise SystemExit(f"{failed[0].target}: {failed[0].status}")
        preset = None if args.smoke else "ultralytics"
        document = edgekit.benchmark([row.path for row in rows], data="shapes-det", preset=preset, **timing).to_dict()
    fp32 = document["results"][0]
    summary = {
        labels.get(row["artifact"], row["target"]): {
            "map50_95": row["metrics"]["map50_95"],
            "drop_pts": round((fp32["metrics"]["map50_95"] - row["metrics"]["map50_95"]) * 100, 2),
            "p50_ratio": round(row["latency_ms"]["p50"] / fp32["latency_ms"]["p50"], 3),
            "p50_best_round_ratio": round(
                row["latency_ms"]["p50_best_round"] / fp32["latency_ms"]["p50_best_round"], 3
            ),
        }
        for row in document["results"][1:]
    }
    report = {"provenance": provenance(), "model": Path(args.model).name, "summary": summary, "bench": document}
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
