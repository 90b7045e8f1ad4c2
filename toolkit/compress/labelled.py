"""Labelled training images for recovery with the task loss: a dataset's train split or the built-in stream.

Each image becomes the model's uint8 canvas (its own letterbox / resize) with its labels in canvas pixels:
detectors get ``(M, 5)`` float32 rows ``class, x0, y0, x1, y1``, classifiers a class index. Augmentation a
detector trainer would use happens per batch (``augment``): horizontal flip and scale jitter (zoom in or out
about the centre, boxes moved, cut at the border, dropped when mostly gone). Mosaic is left out: on
2-core CPUs it costs more decode time than it gives on the few epochs recovery runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from edgekit.calibration_data.build import (
    BUILTIN_DATASETS,
    TRAIN_SEED_CLS,
    TRAIN_SEED_DET,
    classification_sample,
    detection_sample,
)
from PIL import Image

from ..data.datasets import ClassificationDataset, DetectionDataset
from ..data.preprocess import Preprocessing, read_image
from ..errors import DataError
from ..tasks.boxes import Letterbox
from .images import _sample, _train_images_outside_val

MIN_KEPT_FRACTION = 0.4  # a box cut by the scale jitter's border survives with at least this share of its area


@dataclass(frozen=True)
class Labelled:
    """Canvases (N, H, W, 3) uint8 and their labels: a list of (M, 5) arrays (detect) or (N,) ints (classify)."""

    canvases: np.ndarray
    labels: list[np.ndarray] | np.ndarray


#: one Labelled every epoch, or ``epoch -> Labelled`` (new images each epoch)
LabelledImages = Labelled | Callable[[int], Labelled]


def _boxes_on_canvas(
    boxes: np.ndarray, image_shape: tuple[int, int], preprocessing: Preprocessing, box: Letterbox
) -> np.ndarray:
    """xyxy image pixels -> canvas pixels, by the canvas's letterbox geometry."""
    out = boxes.astype(np.float32).copy()
    if preprocessing.resize == "letterbox":
        out[:, [0, 2]] = out[:, [0, 2]] * box.ratio + box.left
        out[:, [1, 3]] = out[:, [1, 3]] * box.ratio + box.top
    else:
        height, width = image_shape
        out[:, [0, 2]] *= preprocessing.size / width
        out[:, [1, 3]] *= preprocessing.size / height
    return out


def _detection_item(
    image: np.ndarray, classes: np.ndarray, boxes: np.ndarray, preprocessing: Preprocessing
) -> tuple[np.ndarray, np.ndarray]:
    canvas, box = preprocessing.canvas(image)
    placed = _boxes_on_canvas(boxes.reshape(-1, 4), image.shape[:2], preprocessing, box)
    return canvas, np.concatenate([classes.reshape(-1, 1).astype(np.float32), placed], 1)


def _builtin_stream(data: str, preprocessing: Preprocessing, count: int, first_epoch: int) -> Callable[[int], Labelled]:
    def epoch_images(epoch: int) -> Labelled:
        start = (first_epoch + epoch) * count
        canvases, labels = [], []
        for index in range(start, start + count):
            if data == "shapes-det":
                pixels, objects = detection_sample(TRAIN_SEED_DET, index)
                classes = np.array([o.class_id for o in objects])
                boxes = np.array([o.box for o in objects], np.float32).reshape(-1, 4)
                canvas, label = _detection_item(pixels, classes, boxes, preprocessing)
            else:
                pixels, label = classification_sample(TRAIN_SEED_CLS, index)
                canvas = preprocessing.canvas(pixels)[0]
            canvases.append(canvas)
            labels.append(label)
        stacked = labels if data == "shapes-det" else np.asarray(labels, np.int64)
        return Labelled(np.stack(canvases), stacked)

    return epoch_images


def _coco_boxes(dataset: DetectionDataset) -> dict[Path, tuple[np.ndarray, np.ndarray]]:
    """Image path -> (class indices, xyxy boxes) read from the split's COCO JSON."""
    data = json.loads(Path(dataset.annotations_path).read_text())
    index = {cat: i for i, cat in enumerate(dataset.category_ids)}
    by_id = {record.image_id: record.path for record in dataset.images}
    found: dict[Path, tuple[list[int], list[tuple[float, float, float, float]]]] = {
        path: ([], []) for path in by_id.values()
    }
    for ann in data["annotations"]:
        if ann["image_id"] in by_id and not ann.get("iscrowd", 0):
            x, y, w, h = ann["bbox"]
            classes, boxes = found[by_id[ann["image_id"]]]
            classes.append(index[ann["category_id"]])
            boxes.append((x, y, x + w, y + h))
    return {path: (np.array(c, np.int64), np.array(b, np.float32).reshape(-1, 4)) for path, (c, b) in found.items()}


def _dataset_split(data: str, preprocessing: Preprocessing, count: int, seed: int) -> Labelled:
    from ..data.resolve import resolve_dataset

    train_paths, _ = _train_images_outside_val(data)
    dataset = resolve_dataset(data, "train")
    picked = _sample(train_paths, count, seed, preprocessing)
    canvases, labels = [], []
    if isinstance(dataset, DetectionDataset):
        boxes = _coco_boxes(dataset)
        for path in picked:
            canvas, label = _detection_item(read_image(path), *boxes[path], preprocessing)
            canvases.append(canvas)
            labels.append(label)
        return Labelled(np.stack(canvases), labels)
    classes = dict(dataset.samples)
    canvases = [preprocessing.canvas(read_image(path))[0] for path in picked]
    return Labelled(np.stack(canvases), np.array([classes[path] for path in picked], np.int64))


def has_labels(data: str | None, folder: Path | None) -> bool:
    """Whether recovery can use labels: a dataset (built-in, or with a train split) and no unlabelled folder."""
    if folder is not None or data is None:
        return False
    if data in BUILTIN_DATASETS:
        return True
    from ..data.resolve import resolve_dataset

    try:
        train = resolve_dataset(data, "train")
    except DataError:
        return False
    return isinstance(train, (DetectionDataset, ClassificationDataset)) and bool(train.image_paths)


def labelled_images(
    data: str, preprocessing: Preprocessing, count: int, first_epoch: int = 0, seed: int = 0
) -> tuple[LabelledImages, str]:
    """``count`` labelled training images (new ones each epoch for a built-in dataset) and where they came from."""
    if data in BUILTIN_DATASETS:
        return (
            _builtin_stream(data, preprocessing, count, first_epoch),
            f"{data}/train (generated stream with labels, {count} new images per epoch)",
        )
    return _dataset_split(data, preprocessing, count, seed), f"{data} (train split, with labels)"


def _zoom(canvas: np.ndarray, boxes: np.ndarray, scale: float, pad_value: int) -> tuple[np.ndarray, np.ndarray]:
    """Zoom ``canvas`` about its centre by ``scale`` (same size out), boxes moved with it and cut at the border."""
    size = canvas.shape[0]
    new = max(8, int(round(size * scale)))
    resized = np.asarray(Image.fromarray(canvas).resize((new, new), Image.Resampling.BILINEAR))
    out = np.full_like(canvas, pad_value)
    offset = (size - new) // 2
    src0, dst0 = max(0, -offset), max(0, offset)
    span = min(new - src0, size - dst0)
    out[dst0 : dst0 + span, dst0 : dst0 + span] = resized[src0 : src0 + span, src0 : src0 + span]
    moved = boxes.copy()
    moved[:, 1:] = boxes[:, 1:] * (new / size) + offset
    clipped = moved.copy()
    clipped[:, 1:] = moved[:, 1:].clip(0, size)
    area = lambda b: (b[:, 3] - b[:, 1]).clip(0) * (b[:, 4] - b[:, 2]).clip(0)  # noqa: E731
    keep = area(clipped) >= MIN_KEPT_FRACTION * np.maximum(area(moved), 1e-6)
    return out, clipped[keep & (area(clipped) > 4)]


def augment(
    canvases: np.ndarray,
    labels: list[np.ndarray] | None,
    rng: np.random.Generator,
    pad_value: int,
    scale_jitter: float = 0.25,
) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Flip half the images left-right and (detectors: ``labels`` given) zoom each by 1 +- ``scale_jitter``."""
    out = canvases.copy()
    moved: list[np.ndarray] | None = [] if labels is not None else None
    size = canvases.shape[2]
    for i in range(len(out)):
        boxes = labels[i].copy() if labels is not None else None
        if rng.random() < 0.5:
            out[i] = out[i][:, ::-1]
            if boxes is not None:
                boxes[:, [1, 3]] = size - boxes[:, [3, 1]]
        if boxes is not None and scale_jitter > 0:
            out[i], boxes = _zoom(out[i], boxes, float(rng.uniform(1 - scale_jitter, 1 + scale_jitter)), pad_value)
        if moved is not None and boxes is not None:
            moved.append(boxes)
    return out, moved
