"""``openvino-fp16``: OpenVINO IR with float16 weights (half the file). The CPU plugin decompresses them and
computes in float32 unless the CPU has native fp16/bf16 support, so expect FP32 speed on most x86 CPUs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.config import TargetConfig
from edgekit.data.calibration import CalibrationSet

from .base import Conversion
from .openvino_ir import read_onnx, save_ir


@dataclass(frozen=True)
class OpenVinoFp16Config(TargetConfig):
    """No options."""


class OpenVinoFp16Target:
    name = "openvino-fp16"
    runtime = "openvino"
    config_cls = OpenVinoFp16Config

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: OpenVinoFp16Config, out_dir: Path) -> Conversion:
        return save_ir(
            read_onnx(onnx_path),
            out_dir,
            compress_to_fp16=True,
            notes={"weights": "float16", "cpu_compute": "float32 unless the CPU has fp16/bf16"},
        )


TARGET = OpenVinoFp16Target()
