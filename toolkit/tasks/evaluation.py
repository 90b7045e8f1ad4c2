"""Accuracy of a runtime session on a dataset, per task (numpy only; device side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..card import ModelCard
from ..data.datasets import ClassificationDataset, Dataset, DetectionDataset, ImageRecord
from ..data.preprocess import read_image
from ..errors import DataError, EdgekitError
from .boxes import Letterbox
from .detection import DetectionDecoding, coco_map, predict_image
from .registry import TASKS

Progress = Callable[[], None]


def _check_classes(dataset: Dataset, model_classes: int) -> None:
    if model_classes != len(dataset.class_names):
        raise DataError(
            f"model predicts {model_classes} classes but dataset {dataset.name} has {len(dataset.class_names)}"
        )


class NonFiniteOutput(EdgekitError):
    """A model gave NaN or infinite outputs while being scored: its accuracy is not a number to report."""


class _FiniteCheck:
    """Counts the images whose output holds a NaN or an infinity; ``verdict`` raises if any did."""

    def __init__(self) -> None:
        self.bad = self.seen = 0

    def __call__(self, output: np.ndarray) -> np.ndarray:
        self.seen += 1
        self.bad += int(not np.isfinite(output).all())
        return output

    def verdict(self) -> None:
        if self.bad:
            raise NonFiniteOutput(
                f"non-finite model outputs (NaN/inf) on {self.bad} of {self.seen} images: "
                "not scored (an overflow in reduced precision, or a broken model)"
            )


def evaluate_detection(
    session: Any,
    card: ModelCard,
    dataset: DetectionDataset,
    tick: Progress | None = None,
    decoding: DetectionDecoding | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """COCO mAP of ``session`` on ``dataset`` (``decoding`` overrides the card's); returns (metrics, COCO
    results)."""
    spec = decoding or DetectionDecoding.from_dict(card.decoding or {})

    def predict(output: np.ndarray, box: Letterbox, record: ImageRecord) -> list[dict[str, Any]]:
        if record is dataset.images[0]:
            _check_classes(dataset, output.shape[0] - 4)
        return predict_image(output, spec, box, record.image_id, record.height, record.width, dataset.category_ids)

    results = predict_images(session, card, dataset, predict, tick)
    return coco_map(dataset.annotations_path, results), results


def predict_images(
    session: Any,
    card: ModelCard,
    dataset: DetectionDataset,
    predict: Callable[[np.ndarray, Letterbox, ImageRecord], list[dict[str, Any]]],
    tick: Progress | None = None,
) -> list[dict[str, Any]]:
    """``predict(output, letterbox, record)`` over every image of ``dataset``, concatenated (the detection-shaped
    tasks' loop); ``NonFiniteOutput`` when any output held a NaN or an infinity."""
    results: list[dict[str, Any]] = []
    finite = _FiniteCheck()
    for record in dataset.images:
        chw, box = card.preprocessing.apply(read_image(record.path))
        results += predict(finite(session.run(chw[None])[0][0]), box, record)
        if tick:
            tick()
    finite.verdict()
    return results


def _label_mapping(model_names: list[str], dataset: ClassificationDataset) -> list[int]:
    """Dataset label index -> model class index: by name when the names match, else by position."""
    if set(dataset.class_names) <= set(model_names):
        return [model_names.index(name) for name in dataset.class_names]
    return list(range(len(dataset.class_names)))


def evaluate_classification(
    session: Any, card: ModelCard, dataset: ClassificationDataset, tick: Progress | None = None, decoding: None = None
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Top-1 / top-5 accuracy of ``session`` on ``dataset``; returns (metrics, per-image top-5)."""
    to_model = _label_mapping(card.class_names, dataset)
    top1 = top5 = 0
    predictions = []
    finite = _FiniteCheck()
    for index, (path, label) in enumerate(dataset.samples):
        logits = finite(session.run(card.preprocessing.apply(read_image(path))[0][None])[0][0])
        if index == 0:
            _check_classes(dataset, logits.shape[-1])
        ranked = np.argsort(-logits, kind="stable")[:5]
        top1 += int(ranked[0] == to_model[label])
        top5 += int(to_model[label] in ranked)
        predictions.append({"image": str(path), "top5": [int(i) for i in ranked]})
        if tick:
            tick()
    finite.verdict()
    count = len(dataset.samples)
    return {"top1": top1 / count, "top5": top5 / count}, predictions


def evaluate(
    session: Any,
    card: ModelCard,
    dataset: Dataset,
    tick: Progress | None = None,
    decoding: DetectionDecoding | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The task's evaluator (its registry hook), after checking that the dataset's task is the model's
    (``decoding``: detectors only)."""
    if dataset.task != card.task:
        raise DataError(f"dataset {dataset.name} is for '{dataset.task}' but the model is '{card.task}'")
    return TASKS[card.task].hook("evaluator")(session, card, dataset, tick, decoding)  # type: ignore[no-any-return]
