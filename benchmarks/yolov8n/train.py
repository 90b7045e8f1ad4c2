"""Train a YOLOv8n or YOLO11n (or a -pose one) from scratch on shapes-det or shapes-pose (Ultralytics' venv, CPU).

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/train.py /tmp/shapes-yolo/data.yaml --epochs 6
    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/train.py /tmp/shapes-yolo/data.yaml --arch yolo11n
    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/train.py /tmp/shapes-pose/data.yaml --arch yolov8n-pose

Ultralytics is AGPL and never a dependency of edgekit: this script runs in a separate venv (see README,
"Real YOLO models"). It writes ``benchmarks/models/<arch>-shapes.{pt,onnx}`` (the ONNX exactly as
``yolo export format=onnx`` writes it) and ``benchmarks/<arch>/results.csv`` (per-epoch val metrics).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent / "models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--arch", default="yolov8n", choices=("yolov8n", "yolo11n", "yolov8n-pose", "yolo11n-pose"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--project", type=Path, default=Path("/tmp/yolo-runs"))
    args = parser.parse_args()

    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    name = f"{args.arch}-shapes"
    model = YOLO(f"{args.arch}.yaml")  # architecture only: no pretrained weights are downloaded
    start = time.perf_counter()
    model.train(
        data=str(args.data),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=16,
        device="cpu",
        workers=2,
        seed=0,
        deterministic=True,
        plots=False,
        warmup_epochs=1,
        close_mosaic=2,
        project=str(args.project),
        name=name,
        exist_ok=True,
        amp=False,
        verbose=True,
    )
    print(f"training wall time: {time.perf_counter() - start:.0f} s")
    run = args.project / name
    best = YOLO(str(run / "weights" / "best.pt"))
    metrics = best.val(data=str(args.data), imgsz=args.imgsz, batch=1, device="cpu", plots=False)
    scores = metrics.pose if args.arch.endswith("-pose") else metrics.box
    print(f"yolo val (best.pt): mAP50-95 {scores.map:.4f}  mAP50 {scores.map50:.4f}")
    onnx_path = Path(best.export(format="onnx", imgsz=args.imgsz, simplify=True, device="cpu"))
    MODELS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "weights" / "best.pt", MODELS / f"{name}.pt")
    shutil.copyfile(onnx_path, MODELS / f"{name}.onnx")
    pose = args.arch.endswith("-pose")
    log = HERE.parent / "pose" / f"{args.arch}-results.csv" if pose else HERE.parent / args.arch / "results.csv"
    log.parent.mkdir(exist_ok=True)
    shutil.copyfile(run / "results.csv", log)
    print(f"written: {MODELS / f'{name}.onnx'}")


if __name__ == "__main__":
    main()
