"""``onnx-fp32``: the simplified, parity-checked parent ONNX model itself, run by ONNX Runtime."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from edgekit.config import TargetConfig
from edgekit.convert.onnx_utils import onnx_io_specs
from edgekit.data.calibration import CalibrationSet

from .base import Conversion


@dataclass(frozen=True)
class OnnxFp32Config(TargetConfig):
    """No options: the artifact is the parent model."""


class OnnxFp32Target:
    name = "onnx-fp32"
    runtime = "onnxruntime"
    config_cls = OnnxFp32Config

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: OnnxFp32Config, out_dir: Path) -> Conversion:
        shutil.copyfile(onnx_path, out_dir / "model.onnx")
        inputs, outputs = onnx_io_specs(out_dir / "model.onnx")
        return Conversion("model.onnx", ["model.onnx"], inputs, outputs)


TARGET = OnnxFp32Target()
