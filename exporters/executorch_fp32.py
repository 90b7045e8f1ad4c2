"""``executorch-fp32``: the PyTorch model captured by ``torch.export``, lowered to ExecuTorch's XNNPACK backend
in float32 (a ``.pte``), run by the ExecuTorch runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.config import TargetConfig
from edgekit.convert.pt2e import example_input, export_program
from edgekit.data.calibration import CalibrationSet

from . import executorch_common as common
from .base import Conversion


@dataclass(frozen=True)
class ExecutorchFp32Config(TargetConfig):
    """No options: XNNPACK takes every op it supports, ExecuTorch's portable kernels the rest."""


class ExecutorchFp32Target:
    name = "executorch-fp32"
    runtime = "executorch"
    requires = ("executorch",)
    config_cls = ExecutorchFp32Config
    from_module = True

    def convert_module(
        self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: ExecutorchFp32Config, out_dir: Path
    ) -> Conversion:
        program = export_program(module, example_input(calib))
        return common.conversion(onnx_path, common.lower(program, out_dir))


TARGET = ExecutorchFp32Target()
