"""``executorch-int8``: PT2E static quantization with ExecuTorch's XNNPACK quantizer (int8 activations,
per-channel symmetric int8 weights), calibrated on the same CalibrationSet as the other INT8 targets, lowered
to XNNPACK and run by the ExecuTorch runtime.

The detector remedy of the ONNX INT8 targets applies here the ExecuTorch way: the decode tail is left out of
the quantizer's annotation (``edgekit.convert.pt2e``), so XNNPACK runs it in float and pixel-scale boxes never
share an int8 range with [0, 1] scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.convert.pt2e import example_input, export_program, quantize_static
from edgekit.data.calibration import CalibrationSet

from . import executorch_common as common
from .base import Conversion, Pt2eInt8Config


@dataclass(frozen=True)
class ExecutorchInt8Config(Pt2eInt8Config):
    """The shared PT2E INT8 options (per-channel scales are XNNPACK's accurate choice), and ``float_head_convs``:
    the head's last convolutions in float too, as on ``litert-int8`` and the ONNX targets; off by default here
    until it is measured on more than the 640 px YOLO26n (docs/yolo.md)."""

    float_head_convs: bool = False


def _xnnpack_quantizer(per_channel: bool) -> Any:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    return XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=per_channel))


class ExecutorchInt8Target:
    name = "executorch-int8"
    runtime = "executorch"
    requires = ("executorch",)
    config_cls = ExecutorchInt8Config
    from_module = True
    float_nodes_option = "float_layers"

    def convert_module(
        self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: ExecutorchInt8Config, out_dir: Path
    ) -> Conversion:
        example = example_input(calib)
        model, tail = quantize_static(
            module,
            example,
            calib,
            _xnnpack_quantizer(cfg.per_channel),
            cfg.keep_decode_float,
            cfg.float_layers,
            onnx_path,
            cfg.float_head_convs,
        )
        program = export_program(model, example)
        return common.conversion(onnx_path, cfg.notes(tail, calib) | common.lower(program, out_dir))


TARGET = ExecutorchInt8Target()
