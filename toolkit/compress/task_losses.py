"""The losses ``edgekit compress`` trains each task with, named by the task registry's hooks
(``edgekit.tasks.registry``): on labels (``training_loss``) and against the teacher (``distill_loss``).

A third task adds its two functions (here or in a module of its own) and names them in its registry entry;
recovery and distillation call them without knowing the task.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .detection_loss import DetectionLoss
from .distill import Criterion


def soft_kl(student: torch.Tensor, teacher: torch.Tensor, dim: int, temperature: float) -> torch.Tensor:
    """KL divergence of the tempered softmaxes along ``dim``, scaled by the temperature squared."""
    log_s = F.log_softmax(student / temperature, dim=dim)
    p_t = F.softmax(teacher / temperature, dim=dim)
    return F.kl_div(log_s, p_t, reduction="batchmean") * temperature**2


def detection_criterion(num_classes: int, image_size: int) -> tuple[Criterion, str]:
    """edgekit's YOLOv8-style detection loss per image (labels: per-image class + xyxy rows)."""
    loss = DetectionLoss(num_classes, image_size)
    return (
        lambda output, labels: loss(output, labels)[0] / len(labels)
    ), "edgekit detection loss (TAL, BCE, GIoU, DFL)"


def classification_criterion(num_classes: int, image_size: int) -> tuple[Criterion, str]:
    """Cross-entropy on class indices."""
    return (lambda output, labels: F.cross_entropy(output, labels)), "cross-entropy"


def classification_kd_loss(
    student: torch.Tensor, teacher: torch.Tensor, num_classes: int, temperature: float
) -> torch.Tensor:
    """Soft-label KL between the classifiers' logits."""
    return soft_kl(student, teacher, 1, temperature)


def detection_kd_loss(
    student: list[torch.Tensor],
    teacher: list[torch.Tensor],
    num_classes: int,
    temperature: float,
    foreground_floor: float = 0.05,
) -> torch.Tensor:
    """Sum over levels of the box term and class-score BCE.

    The box term is the KL divergence of each side's DFL bins, or, for a head without bins (``reg_max`` 1, as
    YOLO26's: its box channels are the four distances themselves), the L1 distance between the student's and
    the teacher's distances. Each anchor's box term is weighted by the teacher's best class score (plus
    ``foreground_floor``), so the student's capacity goes to boxes that can become detections rather than to
    background cells.
    """
    loss = student[0].new_zeros(())
    for s, t in zip(student, teacher):
        b, c, h, w = s.shape
        bins = (c - num_classes) // 4
        box = _box_divergence(
            s[:, : 4 * bins].reshape(b, 4, bins, h * w), t[:, : 4 * bins].reshape(b, 4, bins, h * w), temperature
        )
        weight = t[:, 4 * bins :].sigmoid().amax(1).reshape(b, h * w) + foreground_floor
        loss = loss + (box * weight).sum() / weight.sum()
        loss = loss + F.binary_cross_entropy_with_logits(s[:, 4 * bins :], t[:, 4 * bins :].sigmoid()) * 100
    return loss


def _box_divergence(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per anchor ``(b, anchors)``: the mean over the four sides of the KL between tempered bin distributions
    ``(b, 4, bins, anchors)``, or with one bin (distances, no distribution) their L1 distance."""
    if student.shape[2] == 1:
        return (student - teacher).abs().mean((1, 2))
    log_s = F.log_softmax(student / temperature, dim=2)
    p_t = F.softmax(teacher / temperature, dim=2)
    return (p_t * (p_t.clamp_min(1e-12).log() - log_s)).sum(2).mean(1) * temperature**2
