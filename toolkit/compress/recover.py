"""Which recovery a compress run does, and the task loss it trains with when the data has labels.

``--recover auto`` (the default) trains on labels when the dataset has a labelled train split (a built-in
dataset, a YOLO ``data.yaml`` with ``train:``, a COCO JSON train split, an ImageFolder ``train/``) and on
label-free distillation otherwise (``--images DIR``, or no train split); ``labels`` insists on labels and
``kd`` never reads them. The task loss is the model's own where it brings one (an Ultralytics model: its
trainer's ``v8DetectionLoss``, through ``task_criterion``), else edgekit's: the YOLOv8-style detection loss
of ``edgekit.compress.detection_loss``, or cross-entropy for classifiers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DataError
from ..tasks.registry import TASKS
from .distill import Criterion, _batch, _raw_mode, make_trainable
from .labelled import has_labels, labelled_images
from .options import GRADIENT_IMPORTANCE, DistillOptions
from .pruning import Gradients


def recovery_mode(options: DistillOptions, data: str | None, folder: Path | None) -> str:
    """``labels`` or ``kd`` for this run; ``--recover labels`` without labelled data is an error."""
    if options.recover == "kd":
        return "kd"
    labelled = has_labels(data, folder)
    if options.recover == "labels" and not labelled:
        where = f"--images {folder} has none" if folder is not None else f"{data} has no labelled train split"
        raise DataError(f"--recover labels needs labelled training images: {where} (use --recover kd or auto)")
    return "labels" if labelled else "kd"


def task_criterion(student: nn.Module, task: str, num_classes: int, image_size: int) -> tuple[Criterion, str]:
    """The loss recovery trains ``student`` with on labels, and its name for the report: the model's own
    (``task_criterion``) where it brings one, else the task's (its registry hook ``training_loss``)."""
    own: Any = getattr(student, "task_criterion", None)
    if callable(own):
        return own(), type(student).__name__ + ".task_criterion"
    return TASKS[task].hook("training_loss")(num_classes, image_size)  # type: ignore[no-any-return]


def _zero_missing_gradients(model: nn.Module) -> nn.Module:
    """Give weights fixed by design (no gradient, e.g. Ultralytics' DFL projection) a zero gradient: Torch-Pruning's
    gradient criteria read ``.grad`` of every layer in a group and fail on None."""
    for param in model.parameters():
        if param.grad is None:
            param.grad = torch.zeros_like(param)
    return model


def _mean_squared_gradients(model: nn.Module, loss_of: Callable[[int], torch.Tensor], samples: int) -> None:
    """Leave on every weight's ``.grad`` the mean over ``samples`` of its squared per-sample gradient (the Fisher
    diagonal that Torch-Pruning's Hessian criterion multiplies with the squared weight).

    Done here rather than with the criterion's own ``accumulate_grad``: Torch-Pruning 1.6.1 keys its running sum
    by parameter but tests membership by name, so each call overwrites the sum and only the last sample counts.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    squares = [torch.zeros_like(p) for p in params]
    for i in range(samples):
        model.zero_grad(set_to_none=True)
        loss_of(i).backward()
        for square, param in zip(squares, params):
            if param.grad is not None:
                square.add_(param.grad.detach() ** 2)
    for square, param in zip(squares, params):
        param.grad = square / samples


GRADIENT_IMAGES = 16  # labelled images whose task-loss gradients rank channels for taylor / hessian
HESSIAN_SAMPLES = 8  # of them, one backward pass each for the squared-gradient (Fisher) estimate


def importance_gradients(
    student: nn.Module, card: Any, data: str | None, folder: Path | None, importance: str
) -> Gradients | None:
    """For gradient criteria (``taylor``, ``hessian``): a ``gradients(model, importance)`` that puts the task
    loss's gradients on ``GRADIENT_IMAGES`` labelled images onto the model; None for the others."""
    if importance not in GRADIENT_IMPORTANCE:
        return None
    if data is None or not has_labels(data, folder):
        raise DataError(
            f"--importance {importance} ranks channels by task-loss gradients: it needs a dataset with "
            "a labelled train split (--data), not unlabelled images"
        )
    images = labelled_images(data, card.preprocessing, GRADIENT_IMAGES)[0]
    images = images(0) if callable(images) else images
    x, labels = _batch(
        images,
        np.arange(len(images.canvases)),
        np.random.default_rng(0),
        card.preprocessing,
        card.task,
        torch.device("cpu"),
    )
    criterion, _ = task_criterion(student, card.task, len(card.class_names), card.preprocessing.size)

    def gradients(model: nn.Module, ranking: Any) -> None:
        _raw_mode(make_trainable(model), train_bn=False)
        model.zero_grad(set_to_none=True)
        if importance == "hessian":
            ranking.zero_grad()
            _mean_squared_gradients(
                model, lambda i: criterion(model(x[i : i + 1]), labels[i : i + 1]), min(HESSIAN_SAMPLES, len(x))
            )
        else:
            criterion(model(x), labels).backward()
        _zero_missing_gradients(model)
        model.eval()

    return gradients
