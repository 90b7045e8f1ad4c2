"""Label-free knowledge distillation: the unpruned teacher's outputs are the only targets.

Detectors (YOLOv8-style raw maps ``[B, 4*R + nc, H, W]`` per level): KL divergence with temperature over each
side's DFL bins, plus BCE between sigmoid class scores. Classifiers: KL between softened logits.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DistillOptions:
    """CPU-friendly defaults; ``seed`` fixes shuffling and flips."""

    epochs: int = 10
    lr: float = 1e-3
    temperature: float = 2.0
    batch_size: int = 16
    seed: int = 0


def _raw_mode(model: nn.Module, train_bn: bool) -> nn.Module:
    """Training-mode forward (raw head maps) with BatchNorm statistics updated only if ``train_bn``."""
    model.train()
    if not train_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    return model


def _soft_kl(student: torch.Tensor, teacher: torch.Tensor, dim: int, temperature: float) -> torch.Tensor:
    log_s = F.log_softmax(student / temperature, dim=dim)
    p_t = F.softmax(teacher / temperature, dim=dim)
    return F.kl_div(log_s, p_t, reduction="batchmean") * temperature ** 2


def detection_kd_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], num_classes: int,
                      temperature: float) -> torch.Tensor:
    """Sum over levels of DFL-bin KL (per box side) and class-score BCE."""
    loss = student[0].new_zeros(())
    for s, t in zip(student, teacher):
        b, c, h, w = s.shape
        bins = (c - num_classes) // 4
        s_box = s[:, :4 * bins].reshape(b, 4, bins, h * w).permute(0, 1, 3, 2).reshape(-1, bins)
        t_box = t[:, :4 * bins].reshape(b, 4, bins, h * w).permute(0, 1, 3, 2).reshape(-1, bins)
        loss = loss + _soft_kl(s_box, t_box, 1, temperature) / 4
        loss = loss + F.binary_cross_entropy_with_logits(s[:, 4 * bins:], t[:, 4 * bins:].sigmoid()) * 100
    return loss


def distill(teacher: nn.Module, student: nn.Module, samples: np.ndarray, task: str, num_classes: int,
            options: DistillOptions, checkpoint: Path | None = None,
            on_epoch: Callable[[int, float], None] | None = None) -> list[float]:
    """Train ``student`` to match ``teacher`` on ``samples`` (N, 3, H, W); returns the mean loss per epoch."""
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    teacher = _raw_mode(copy.deepcopy(teacher), train_bn=False)
    _raw_mode(student, train_bn=True)
    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=options.lr,
                                  weight_decay=0.0)
    batches = max(1, len(samples) // options.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, options.lr, total_steps=options.epochs * batches)
    history = []
    for epoch in range(options.epochs):
        order, total = rng.permutation(len(samples)), 0.0
        for index in range(batches):
            picked = samples[order[index * options.batch_size:(index + 1) * options.batch_size]]
            flip = rng.random(len(picked)) < 0.5
            picked[flip] = picked[flip][..., ::-1]
            x = torch.from_numpy(np.ascontiguousarray(picked))
            with torch.no_grad():
                target = teacher(x)
            output = student(x)
            if task == "detect":
                loss = detection_kd_loss(output, target, num_classes, options.temperature)
            else:
                loss = _soft_kl(output, target, 1, options.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        history.append(total / batches)
        if on_epoch:
            on_epoch(epoch, history[-1])
        if checkpoint is not None:
            torch.save({"epoch": epoch, "state_dict": student.state_dict()}, checkpoint)
    student.eval()
    return history
