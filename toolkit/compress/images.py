"""Unlabelled images for distillation: a user's image folder, a dataset's train split, or the built-in stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.calibration_data.build import BUILTIN_DATASETS, training_image

from ..calibration import CalibrationSet
from ..data import IMAGE_SUFFIXES
from ..datasets import resolve_dataset
from ..errors import DataError
from ..preprocess import Preprocessing, read_image


def folder_images(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (recursively, sorted); an error when there is none."""
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not images:
        raise DataError(f"no images in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))} files)")
    return images


def _sample(paths: list[Path], count: int, seed: int, preprocessing: Preprocessing) -> list[Path]:
    """The same seeded pick of ``count`` files that calibration uses."""
    return list(CalibrationSet.from_images(paths, preprocessing, count, seed).images)


def distillation_canvases(preprocessing: Preprocessing, count: int, data: str | None = None,
                          folder: Path | None = None, seed: int = 0) -> tuple[np.ndarray, str]:
    """Up to ``count`` unlabelled images as the model's uint8 NHWC canvases, and where they came from.

    ``folder`` (any images, no labels) wins; else a built-in dataset's training stream (never its val split);
    else the train split of ``data`` (YOLO ``train:``, ImageFolder ``train/`` or ``calib/``).
    """
    if folder is not None:
        paths, origin = _sample(folder_images(folder), count, seed, preprocessing), str(folder)
    elif data in BUILTIN_DATASETS:
        images = [training_image(data, index) for index in range(count)]
        return np.stack([preprocessing.canvas(image)[0] for image in images]), f"{data}/train"
    elif data is not None:
        dataset = resolve_dataset(data, "train")
        paths, origin = _sample(dataset.image_paths, count, seed, preprocessing), dataset.name
    else:
        raise DataError("pass --data or --images: distillation needs unlabelled images")
    return np.stack([preprocessing.canvas(read_image(path))[0] for path in paths]), origin
