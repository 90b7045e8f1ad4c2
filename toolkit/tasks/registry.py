"""The task registry: what edgekit knows per task, in one place (a leaf module: no numpy, no runtime).

A task names its metrics (headline first: what drops, gates and budgets are counted in), the output parts the
parity check compares separately (along axis 1), and the preprocessing a user model gets by default. A third
task is one entry here plus its evaluation in ``edgekit.tasks.evaluation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DataError

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

    @property
    def headline(self) -> str:
        """The metric drops, gates and accuracy budgets are counted in."""
        return self.metrics[0]


TASKS: dict[str, TaskSpec] = {
    "detect": TaskSpec("detect", ("map50_95", "map50"), (("boxes", 0, 4), ("scores", 4, None)), 640, "letterbox",
                       decoded=True),
    "classify": TaskSpec("classify", ("top1", "top5"), (("output", 0, None),), 224, "resize",
                         IMAGENET_MEAN, IMAGENET_STD),
}


def check_task(task: Any, where: str = "") -> str:
    """``task`` when it is a registered task; else one ``DataError`` (prefixed with ``where``) naming them."""
    if not isinstance(task, str) or task not in TASKS:
        raise DataError(f"{where + ': ' if where else ''}unknown task {task!r} (choose from: {', '.join(TASKS)})")
    return task


def task_names() -> list[str]:
    """Every known task, for choices and messages."""
    return list(TASKS)
