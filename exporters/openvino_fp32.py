"""``openvino-fp32``: OpenVINO IR with float32 weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.config import TargetConfig
from edgekit.data.calibration import CalibrationSet

from .base import Conversion
from .openvino_ir import read_onnx, save_ir


@dataclass(frozen=True)
class OpenVinoFp32Config(TargetConfig):
    """No options."""


class OpenVinoFp32Target:
    name = "openvino-fp32"
    runtime = "openvino"
    config_cls = OpenVinoFp32Config

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: OpenVinoFp32Config, out_dir: Path) -> Conversion:
        return save_ir(read_onnx(onnx_path), out_dir, compress_to_fp16=False)


TARGET = OpenVinoFp32Target()
