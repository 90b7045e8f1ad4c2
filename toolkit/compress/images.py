"""Unlabelled images for distillation: a user's image folder, a dataset's train split, or the built-in stream."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from edgekit.calibration_data.build import BUILTIN_DATASETS, training_image

from ..data.calibration import CalibrationSet
from ..data.datasets import IMAGE_SUFFIXES
from ..data.preprocess import Preprocessing, read_image
from ..data.resolve import resolve_dataset
from ..errors import DataError


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


def training_stream(
    data: str, preprocessing: Preprocessing, count: int, first_epoch: int = 0
) -> Callable[[int], np.ndarray]:
    """``epoch -> canvases``: epoch ``e`` gets the next ``count`` images of built-in dataset ``data``'s endless
    training stream (images ``(first_epoch + e) * count`` onwards), so distillation never sees an image twice."""

    def epoch_images(epoch: int) -> np.ndarray:
        start = (first_epoch + epoch) * count
        return np.stack([preprocessing.canvas(training_image(data, i))[0] for i in range(start, start + count)])

    return epoch_images


def _train_images_outside_val(data: str) -> tuple[list[Path], str]:
    """The train split's images and name; an error when any is also a val image (a YOLO file without ``train:``
    or one COCO JSON gives its val images): distilling on them would inflate the val accuracy it reports."""
    train = resolve_dataset(data, "train")
    paths = list(train.image_paths)
    val = {path.resolve() for path in resolve_dataset(data, "val").image_paths}
    shared = sum(path.resolve() in val for path in paths)
    if shared:
        raise DataError(
            f"{data}: {shared} of its {len(paths)} train images are val images, and "
            "distilling on them would inflate the val score: pass --images DIR with other images"
        )
    return paths, train.name


def _canvases(paths: list[Path], preprocessing: Preprocessing) -> np.ndarray:
    """The images at ``paths`` as the model's uint8 NHWC canvases."""
    return np.stack([preprocessing.canvas(read_image(path))[0] for path in paths])


def distillation_images(
    preprocessing: Preprocessing, count: int, data: str | None = None, folder: Path | None = None, seed: int = 0
) -> tuple[np.ndarray | None, str]:
    """``count`` unlabelled images as the model's uint8 NHWC canvases, and where they came from.

    ``folder`` (any images, no labels) wins; else the train split of ``data`` (YOLO ``train:``, ImageFolder
    ``train/`` or ``calib/``). A built-in dataset returns ``None``: use ``training_stream`` (new images every epoch).
    """
    if folder is not None:
        paths, origin = _sample(folder_images(folder), count, seed, preprocessing), str(folder)
    elif data in BUILTIN_DATASETS:
        return None, f"{data}/train (generated stream, {count} new images per epoch)"
    elif data is not None:
        train, origin = _train_images_outside_val(data)
        paths = _sample(train, count, seed, preprocessing)
    else:
        raise DataError("pass --data or --images: distillation needs unlabelled images")
    return _canvases(paths, preprocessing), origin


def probe_images(
    preprocessing: Preprocessing, count: int, data: str | None = None, folder: Path | None = None
) -> np.ndarray | None:
    """``count`` unlabelled canvases to find idle detector outputs with: the folder, else the first images of a
    built-in stream, else the dataset's train split (its val images where it has none: nothing is trained on
    them, they only show which outputs ever score); ``None`` when there are none."""
    if folder is None and data is not None and data in BUILTIN_DATASETS:
        return training_stream(data, preprocessing, count)(0)
    if folder is None and data is None:
        return None
    try:
        paths = folder_images(folder) if folder is not None else resolve_dataset(data, "train").image_paths
    except DataError:
        return None
    return _canvases(_sample(list(paths), count, 0, preprocessing), preprocessing)
