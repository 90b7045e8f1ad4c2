"""The built-in reference models, described without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.calibration_data.shapes import CLASS_NAMES

from ..card import ModelCard
from ..data.preprocess import Preprocessing

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class BuiltinModel:
    """A reference model: how to build it, its weights, and its card (task, preprocessing, classes, dataset)."""

    name: str
    factory: str
    weights: str
    card: ModelCard
    description: str

    @property
    def weights_path(self) -> Path:
        return WEIGHTS_DIR / self.weights


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "nano-det": BuiltinModel(
        "nano-det",
        "edgekit.models.nano_det:NanoDetector",
        "nano_det.pt",
        ModelCard.for_task("detect", Preprocessing(size=256, resize="letterbox"), CLASS_NAMES, "shapes-det"),
        "YOLOv8-shaped nano detector (C2f, SPPF, DFL head), 256 px, output [1, 4+nc, N]",
    ),
    "nano-cls": BuiltinModel(
        "nano-cls",
        "edgekit.models.nano_cls:NanoClassifier",
        "nano_cls.pt",
        ModelCard.for_task(
            "classify",
            Preprocessing(size=64, resize="resize", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)),
            CLASS_NAMES,
            "shapes-cls",
        ),
        "MobileNetV2-style classifier (inverted residuals, depthwise, ReLU6), 64 px",
    ),
}
