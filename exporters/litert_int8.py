"""``litert-int8``: PT2E static quantization with litert-torch's own quantizer (int8 activations, per-channel
symmetric int8 weights), calibrated on the same CalibrationSet as the other INT8 targets, converted by
litert-torch to a ``.tflite`` and run by the LiteRT interpreter. The input is int8 (the runtime quantizes the
image), the output float32.

A detector's decode tail is left in float (``edgekit.convert.pt2e``), and so are the head's last
convolutions (box bins, class logits): litert-torch's converter moves a float tail's dequantize down past
reshapes and concatenations, so without them box bins and class logits would share one int8 scale in the
merged output again (YOLOv8n-shapes: 23 mAP points lost, scores' cosine 0.97 against the parent)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.convert.pt2e import example_input, quantize_static
from edgekit.data.calibration import CalibrationSet

from . import litert_torch_common as common
from .base import Conversion, Pt2eInt8Config


@dataclass(frozen=True)
class LitertInt8Config(Pt2eInt8Config):
    """The shared PT2E INT8 options, and ``float_head_convs``: the head's last convolutions in float too (see
    the module's docstring)."""

    float_head_convs: bool = True


class LitertInt8Target:
    name = "litert-int8"
    runtime = "tflite"
    requires = ("litert_torch",)
    config_cls = LitertInt8Config
    from_module = True
    float_nodes_option = "float_layers"

    def convert_module(
        self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: LitertInt8Config, out_dir: Path
    ) -> Conversion:
        common.litert_torch()  # the extra's one-line error before any work
        from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
        from litert_torch.quantize.quant_config import QuantConfig

        quantizer = PT2EQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=cfg.per_channel, is_dynamic=False)
        )
        example = example_input(calib)
        model, tail = quantize_static(
            module,
            example,
            calib,
            quantizer,
            cfg.keep_decode_float,
            cfg.float_layers,
            onnx_path,
            cfg.float_head_convs,
            fold_quantize=False,
        )
        common.convert(model, example, out_dir, quant_config=QuantConfig(pt2e_quantizer=quantizer))
        return common.conversion(onnx_path, cfg.notes(tail, calib))


TARGET = LitertInt8Target()
