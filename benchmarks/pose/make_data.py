"""Write shapes-pose (arrows with four keypoints) as an Ultralytics YOLO pose dataset (edgekit's venv).

    python benchmarks/pose/make_data.py OUT_DIR [--train 2000] [--val 200]

The generator is ``edgekit.calibration_data.arrows``; the tests write small splits of the same streams.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgekit.calibration_data.arrows import write_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--val", type=int, default=200)
    args = parser.parse_args()
    print(f"written: {write_dataset(args.out, args.train, args.val)}")


if __name__ == "__main__":
    main()
