"""Recovery training of a pruned student: knowledge distillation from the unpruned teacher, plus the task loss
on labels when the training images have them (``criterion``; see ``edgekit.compress.recover``).

Distillation, detectors (YOLOv8-style raw maps ``[B, 4*R + nc, H, W]`` per level): KL divergence with
temperature over each side's DFL bins, plus BCE between sigmoid class scores, plus the head-input features
(``FeatureMimic``). Classifiers: KL between softened logits.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.preprocess import Preprocessing
from ..fsutil import atomic_file
from ..tasks.registry import TASKS
from .features import FeatureMimic, head_module_name
from .labelled import Labelled, augment
from .options import DistillOptions  # noqa: F401 - defined with the other options

#: ``on_step(epoch, step, steps_per_epoch, loss)`` after every optimiser step.
StepCallback = Callable[[int, int, int, float], None]

#: uint8 NHWC canvases, unlabelled (an array) or ``Labelled``: one reused every epoch, or ``epoch -> images``.
Images = np.ndarray | Labelled | Callable[[int], np.ndarray | Labelled]

#: ``criterion(student_output, labels) -> loss``: the task loss on a labelled batch (labels as tensors)
Criterion = Callable[[Any, Any], torch.Tensor]


def _raw_mode(model: nn.Module, train_bn: bool) -> nn.Module:
    """Training-mode forward (raw head maps) with BatchNorm statistics updated only if ``train_bn``."""
    model.train()
    if not train_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    return model


class _WeightAverage:
    """Exponential moving average of a model's floating-point state, with a warm-up ramp."""

    def __init__(self, model: nn.Module, decay: float, warmup_steps: float = 100.0) -> None:
        self.decay, self.warmup, self.updates = decay, warmup_steps, 0
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = self.decay * (1 - math.exp(-self.updates / self.warmup))
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                self.state[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
            else:
                self.state[key].copy_(value)

    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.state)


def normalised_batch(
    canvases: np.ndarray, picked: np.ndarray, flip: np.ndarray, preprocessing: Preprocessing, device: torch.device
) -> torch.Tensor:
    """uint8 NHWC canvases (rows ``picked``) -> normalised NCHW float32 on ``device``, ``flip`` ones mirrored."""
    pixels = canvases[picked]
    return _to_tensor(np.where(flip[:, None, None, None], pixels[:, :, ::-1], pixels), preprocessing, device)


def _kd_loss(
    task: str, output: Any, target: Any, mimic: FeatureMimic | None, num_classes: int, options: DistillOptions
) -> torch.Tensor:
    loss: torch.Tensor = TASKS[task].hook("distill_loss")(output, target, num_classes, options.temperature)
    return loss + options.feature_weight * mimic.loss() if mimic else loss


def _to_tensor(canvases: np.ndarray, preprocessing: Preprocessing, device: torch.device) -> torch.Tensor:
    """uint8 NHWC canvases -> normalised NCHW float32 on ``device``."""
    pixels = torch.from_numpy(np.ascontiguousarray(canvases)).to(device)
    mean = torch.tensor(preprocessing.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.std, device=device).view(1, 3, 1, 1)
    return (pixels.permute(0, 3, 1, 2).float() / 255.0 - mean) / std


def _batch(
    data: np.ndarray | Labelled,
    picked: np.ndarray,
    rng: np.random.Generator,
    preprocessing: Preprocessing,
    task: str,
    device: torch.device,
) -> tuple[torch.Tensor, Any]:
    """One training batch: normalised NCHW input and its labels as tensors (None without labels), augmented."""
    if not isinstance(data, Labelled):
        return normalised_batch(data, picked, rng.random(len(picked)) < 0.5, preprocessing, device), None
    if isinstance(data.labels, np.ndarray):  # one class index per image: nothing moves with the pixels
        pixels, _ = augment(data.canvases[picked], None, rng, preprocessing.pad_value)
        return _to_tensor(pixels, preprocessing, device), torch.from_numpy(data.labels[picked]).to(device)
    pixels, boxes = augment(data.canvases[picked], [data.labels[i] for i in picked], rng, preprocessing.pad_value)
    assert boxes is not None  # augment moves the boxes it was given
    return _to_tensor(pixels, preprocessing, device), [torch.from_numpy(b).to(device) for b in boxes]


def make_trainable(model: nn.Module) -> nn.Module:
    """Let a model that brings its own rule for which weights train apply it (``prepare_training``)."""
    hook = getattr(model, "prepare_training", None)
    if callable(hook):
        hook()
    return model


def _prepare(
    teacher: nn.Module,
    student: nn.Module,
    canvases: np.ndarray,
    preprocessing: Preprocessing,
    task: str,
    options: DistillOptions,
) -> tuple[nn.Module, FeatureMimic | None, torch.optim.Optimizer]:
    """Teacher copy in raw-output mode, the feature mimic (detectors) and the optimiser, all on the device."""
    device = torch.device(options.device)
    probe = normalised_batch(canvases, np.arange(2), np.zeros(2, bool), preprocessing, torch.device("cpu"))
    head = head_module_name(student, probe[:1]) if TASKS[task].mimics_features and options.feature_weight else None
    teacher = _raw_mode(copy.deepcopy(teacher), train_bn=False).to(device)
    mimic = FeatureMimic(teacher, student.eval().to(device), head, probe.to(device)) if head else None
    _raw_mode(make_trainable(student), train_bn=True).to(device)
    trained = [p for p in student.parameters() if p.requires_grad]
    trained += list(mimic.adapters.parameters()) if mimic else []
    return teacher, mimic, torch.optim.AdamW(trained, lr=options.lr, weight_decay=0.0)


def distill(
    teacher: nn.Module,
    student: nn.Module,
    images: Images,
    preprocessing: Preprocessing,
    task: str,
    num_classes: int,
    options: DistillOptions,
    checkpoint: Path | None = None,
    on_step: StepCallback | None = None,
    criterion: Criterion | None = None,
    epoch_seconds: list[float] | None = None,
    after_backward: Callable[[nn.Module], None] | None = None,
) -> list[float]:
    """Train ``student`` in place to match ``teacher`` on uint8 NHWC canvases (plus ``criterion`` on labels).

    ``images`` is one array (or ``Labelled``) used every epoch, or a function giving each epoch's (all of one
    length). With ``Labelled`` images and a ``criterion`` the loss is the task loss plus ``options.kd_weight``
    times the distillation loss, on flipped and scale-jittered batches; without, distillation alone on flips.
    Returns the mean loss per epoch (``epoch_seconds`` gets each epoch's wall time). ``after_backward(student)``
    runs between each backward pass and its optimiser step (e.g. a sparsity regularizer adding to the
    gradients). The student ends on the CPU in eval mode.
    """
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    epoch_images = images if callable(images) else (lambda _epoch: images)
    data = epoch_images(0)
    canvases = data.canvases if isinstance(data, Labelled) else data
    teacher, mimic, optimizer = _prepare(teacher, student, canvases, preprocessing, task, options)
    batches = max(1, len(canvases) // options.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, options.lr, total_steps=options.epochs * batches, pct_start=options.warmup
    )
    average = _WeightAverage(student, options.ema_decay) if options.ema_decay else None
    kd_weight = options.kd_weight if criterion is not None else 1.0
    history = []
    for epoch in range(options.epochs):
        started = time.perf_counter()
        data = data if epoch == 0 else epoch_images(epoch)
        order, total = rng.permutation(len(canvases)), 0.0
        for index in range(batches):
            picked = order[index * options.batch_size : (index + 1) * options.batch_size]
            x, labels = _batch(data, picked, rng, preprocessing, task, torch.device(options.device))
            with torch.no_grad():
                target = teacher(x)
            output = student(x)
            loss = (
                _kd_loss(task, output, target, mimic, num_classes, options) * kd_weight
                if kd_weight
                else torch.zeros((), device=x.device)
            )
            if criterion is not None and labels is not None:
                loss = loss + criterion(output, labels)
            optimizer.zero_grad()
            loss.backward()
            if after_backward is not None:
                after_backward(student)
            optimizer.step()
            schedule.step()
            if average:
                average.update(student)
            total += loss.item()
            if on_step:
                on_step(epoch, index + 1, batches, loss.item())
        history.append(total / batches)
        if epoch_seconds is not None:
            epoch_seconds.append(time.perf_counter() - started)
        if checkpoint is not None:
            state = average.state if average else student.state_dict()
            with atomic_file(checkpoint) as tmp:  # a run killed mid-save leaves the previous epoch's whole
                torch.save({"epoch": epoch, "loss": history[-1], "state_dict": state}, tmp)
    if average:
        average.copy_to(student)
    if mimic:
        mimic.remove()
    student.cpu().eval()
    return history
