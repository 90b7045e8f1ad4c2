"""The built-in reference models, described without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.calibration_data.shapes import CLASS_NAMES

from .preprocess import Preprocessing

WEIGHTS_DIR = Path(__file__).parent / "models" / "weights"


@dataclass(frozen=True)
class BuiltinModel:
    """A reference model: how to build it, its weights, preprocessing, task and matching dataset."""

    name: str
    task: str
    factory: str
    weights: str
    preprocessing: Preprocessing
    dataset: str
    class_names: tuple[str, ...]
    description: str

    @property
    def weights_path(self) -> Path:
        return WEIGHTS_DIR / self.weights


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "nano-det": BuiltinModel(
        "nano-det", "detect", "edgekit.models.nano_det:NanoDetector", "nano_det.pt",
        Preprocessing(size=256, resize="letterbox"), "shapes-det", CLASS_NAMES,
        "YOLOv8-shaped nano detector (C2f, SPPF, DFL head), 256 px, output [1, 4+nc, N]"),
    "nano-cls": BuiltinModel(
        "nano-cls", "classify", "edgekit.models.nano_cls:NanoClassifier", "nano_cls.pt",
        Preprocessing(size=64, resize="resize", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)), "shapes-cls",
        CLASS_NAMES, "MobileNetV2-style classifier (inverted residuals, depthwise, ReLU6), 64 px"),
}
