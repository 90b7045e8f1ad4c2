"""The task registry: what edgekit knows per task, in one place (a leaf module: no numpy, no runtime).

A task names its metrics (headline first: what drops, gates and budgets are counted in), the output parts the
parity check compares separately (along axis 1), the preprocessing a user model gets by default, the rank of
its raw output, its reference model and INT8 drop bound, and its behaviour as lazy hooks (``"module:function"``
strings, imported on first use, so the device path imports nothing heavy): how a runtime session is scored
on a dataset, and how ``edgekit compress`` trains it on labels and distils it. Nothing outside the task modules
branches on a task's name: a third task is one entry here plus the functions its hooks name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import DataError, EdgekitError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class TaskSpec:
    """One task: ``metrics`` (headline first), ``parity_parts`` (name, start, stop on axis 1; stop ``None``:
    to the end), default input size, resize mode and normalisation, and whether raw outputs need decoding."""

    name: str
    metrics: tuple[str, ...]
    parity_parts: tuple[tuple[str, int, int | None], ...]
    default_size: int
    resize: str
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    decoded: bool = False
    #: rank of the model's raw output: [B, classes] 2, [B, channels, anchors] 3 (tells a foreign model's task)
    output_rank: int = 2
    #: the built-in model that stands for the task in the contract tests ("": none; the task's own tests bring a
    #: model), and the most (in headline points) an INT8 artifact may lose against its FP32 parent
    reference_model: str = ""
    int8_drop_bound: float = 1.0
    #: ``(session, card, dataset, tick, decoding) -> (metrics, predictions)``: numpy only (device side)
    evaluator: str = ""
    #: ``(num_classes, image_size) -> (criterion(output, labels), name)``: recovery on labels (torch)
    training_loss: str = ""
    #: ``(student_output, teacher_output, num_classes, temperature) -> loss``: distillation (torch)
    distill_loss: str = ""
    #: compress thins outputs a head never uses, and mimics the teacher's features before the head
    thins_idle_outputs: bool = False
    mimics_features: bool = False
    #: the key a COCO annotation carries for this task (``keypoints``): a dataset whose annotations do is its
    annotation_key: str = ""

    def hook(self, name: str) -> Callable[..., Any]:
        """The function hook ``name`` (``evaluator``, ``training_loss``, ``distill_loss``) names, imported now."""
        module, _, function = getattr(self, name).partition(":")
        if not module:
            raise EdgekitError(f"task {self.name!r} has no {name}")
        return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]

    @property
    def headline(self) -> str:
        """The metric drops, gates and accuracy budgets are counted in."""
        return self.metrics[0]


TASKS: dict[str, TaskSpec] = {
    "detect": TaskSpec(
        "detect",
        ("map50_95", "map50"),
        (("boxes", 0, 4), ("scores", 4, None)),
        640,
        "letterbox",
        decoded=True,
        output_rank=3,
        reference_model="nano-det",
        int8_drop_bound=2.0,
        evaluator="edgekit.tasks.evaluation:evaluate_detection",
        training_loss="edgekit.compress.task_losses:detection_criterion",
        distill_loss="edgekit.compress.task_losses:detection_kd_loss",
        thins_idle_outputs=True,
        mimics_features=True,
    ),
    "classify": TaskSpec(
        "classify",
        ("top1", "top5"),
        (("output", 0, None),),
        224,
        "resize",
        IMAGENET_MEAN,
        IMAGENET_STD,
        reference_model="nano-cls",
        evaluator="edgekit.tasks.evaluation:evaluate_classification",
        training_loss="edgekit.compress.task_losses:classification_criterion",
        distill_loss="edgekit.compress.task_losses:classification_kd_loss",
    ),
    "pose": TaskSpec(
        "pose",
        ("oks_map50_95", "oks_map50", "map50_95", "map50"),
        (("boxes", 0, 4), ("scores", 4, 5), ("keypoints", 5, None)),
        640,
        "letterbox",
        decoded=True,
        output_rank=3,
        int8_drop_bound=2.0,
        evaluator="edgekit.tasks.pose:evaluate_pose",
        annotation_key="keypoints",
    ),
}


#: the task of a PyTorch model that names none (no card, no ``--task``): Ultralytics and edgekit's detectors
DEFAULT_TASK = "detect"


def check_task(task: Any, where: str = "") -> str:
    """``task`` when it is a registered task; else one ``DataError`` (prefixed with ``where``) naming them."""
    if not isinstance(task, str) or task not in TASKS:
        raise DataError(f"{where + ': ' if where else ''}unknown task {task!r} (choose from: {', '.join(TASKS)})")
    return task


def task_for_output_rank(rank: int) -> str | None:
    """The task whose raw output has ``rank`` dimensions (a model that names no task), or None."""
    return next((spec.name for spec in TASKS.values() if spec.output_rank == rank), None)


def task_for_annotation_keys(keys: Iterable[str], default: str = DEFAULT_TASK) -> str:
    """The task whose ``annotation_key`` is among ``keys`` (the fields a dataset's COCO annotations carry),
    else ``default``."""
    present = set(keys)
    return next(
        (spec.name for spec in TASKS.values() if spec.annotation_key and spec.annotation_key in present), default
    )


def task_names() -> list[str]:
    """Every known task, for choices and messages."""
    return list(TASKS)
