"""Write shapes-det as an Ultralytics YOLO dataset for training a real YOLOv8n (run in edgekit's venv).

    python benchmarks/yolov8n/make_data.py OUT_DIR [--train 3000]

``train`` holds images 0..N-1 of the built-in training stream (seed ``TRAIN_SEED_DET``), never shown to the
reference models' val split; ``val`` is the built-in val split (the images every edgekit figure is scored on).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgekit.calibration_data.build import DETECTION_SPLITS, TRAIN_SEED_DET, write_detection_split
from edgekit.calibration_data.shapes import CLASS_NAMES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=3000)
    args = parser.parse_args()
    write_detection_split(args.out, "train", TRAIN_SEED_DET, args.train)
    write_detection_split(args.out, "val", *DETECTION_SPLITS["val"])
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES))
    (args.out / "data.yaml").write_text(
        f"path: {args.out.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n"
    )
    print(f"written: {args.out / 'data.yaml'}")


if __name__ == "__main__":
    main()
