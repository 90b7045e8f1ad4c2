"""Training loss for the reference detector: edgekit's own detection loss (``edgekit.compress.detection_loss``),
bound to a NanoDetector. Used only by ``train_reference.py``."""

from __future__ import annotations

from edgekit.compress.detection_loss import DetectionLoss as _RawMapLoss
from edgekit.models.nano_det import NanoDetector

IMAGE_SIZE = 256


class DetectionLoss(_RawMapLoss):
    """YOLOv8-style loss for ``model``: returns (total, parts) with parts = (box, cls, dfl) detached."""

    def __init__(self, model: NanoDetector, **options) -> None:
        super().__init__(model.num_classes, IMAGE_SIZE, **options)
