"""Resolve a ``--data`` argument (built-in name or path) to a validated dataset."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from edgekit.calibration_data.build import BUILTIN_DATASETS, ensure_dataset

from ..errors import DataError
from .datasets import Dataset, load_coco, load_image_folder
from .yolo import load_yolo

#: Which split of a dataset serves each purpose, per layout.
_YOLO_SPLIT = {"val": "val", "calib": "train", "train": "train"}
_FOLDER_SPLITS = {"val": ("val",), "calib": ("calib", "train"), "train": ("train", "calib")}


@lru_cache(maxsize=8)
def resolve_dataset(spec: str, split: str = "val") -> Dataset:
    """Load a split of a built-in name or a dataset path: "val" to score, "calib" to calibrate, "train" to distill.

    Memoised: benching several artifacts on one dataset validates it once per process.
    """
    if spec in BUILTIN_DATASETS:
        root = ensure_dataset(spec)
        if spec == "shapes-det":
            return load_coco(root / "annotations" / f"instances_{split}.json", name=f"{spec}/{split}")
        return load_image_folder(root / split, name=f"{spec}/{split}")
    path = Path(spec)
    if not path.exists():
        raise DataError(f"dataset not found: {spec} (built-in datasets: {', '.join(BUILTIN_DATASETS)})")
    if path.suffix in (".yaml", ".yml"):
        return load_yolo(path, _YOLO_SPLIT[split])
    if path.suffix == ".json":
        return load_coco(path)
    if path.is_dir():
        if (path / "data.yaml").is_file():
            return load_yolo(path / "data.yaml", _YOLO_SPLIT[split])
        for folder in _FOLDER_SPLITS[split]:
            if (path / folder).is_dir():
                return load_image_folder(path / folder)
        return load_image_folder(path)
    raise DataError(f"unrecognised dataset {spec}: expected data.yaml, a COCO .json, or an ImageFolder directory")
