"""``litert-fp32``: the PyTorch model converted by litert-torch to a float32 ``.tflite`` (no ONNX on the way),
run by the LiteRT interpreter; beside ``tflite-fp32``, which goes through ONNX and onnx2tf."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.config import TargetConfig
from edgekit.convert.pt2e import example_input, export_program
from edgekit.data.calibration import CalibrationSet

from . import litert_torch_common as common
from .base import Conversion


@dataclass(frozen=True)
class LitertFp32Config(TargetConfig):
    """No options."""


class LitertFp32Target:
    name = "litert-fp32"
    runtime = "tflite"
    requires = ("litert_torch",)
    config_cls = LitertFp32Config
    from_module = True

    def convert_module(
        self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: LitertFp32Config, out_dir: Path
    ) -> Conversion:
        import torch

        example = example_input(calib)
        if isinstance(module, torch.jit.ScriptModule):  # litert-torch takes nn.Modules: TorchScript via PT2
            module = export_program(module, example).module()
        common.convert(module, example, out_dir)
        return common.conversion(onnx_path, {})


TARGET = LitertFp32Target()
