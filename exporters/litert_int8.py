"""``litert-int8``: PT2E static quantization with litert-torch's own quantizer (int8 activations, per-channel
symmetric int8 weights), calibrated on the same CalibrationSet as the other INT8 targets, the detector's
decode tail left in float (``edgekit.convert.pt2e``), converted by litert-torch to a ``.tflite`` and run by the
LiteRT interpreter. The model's input and output stay float32 (quantized inside), unlike ``tflite-int8``'s
full-integer I/O: litert-torch's PT2E path keeps the PyTorch signature."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.config import TargetConfig
from edgekit.convert.pt2e import example_input, quantize_static
from edgekit.data.calibration import CalibrationSet

from . import litert_torch_common as common
from .base import Conversion


@dataclass(frozen=True)
class LitertInt8Config(TargetConfig):
    """``per_channel``: per-output-channel weight scales; ``keep_decode_float``: a detector's decode tail in
    float; ``float_layers``: parent-ONNX compute layers left in float (``--max-drop`` fills it)."""

    per_channel: bool = True
    keep_decode_float: bool = True
    float_layers: tuple[str, ...] = ()


class LitertInt8Target:
    name = "litert-int8"
    runtime = "tflite"
    requires = ("litert_torch",)
    config_cls = LitertInt8Config
    from_module = True
    float_nodes_option = "float_layers"

    def convert_module(self, module: Any, onnx_path: Path, calib: CalibrationSet, cfg: LitertInt8Config,
                       out_dir: Path) -> Conversion:
        common.litert_torch()  # the extra's one-line error before any work
        from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
        from litert_torch.quantize.quant_config import QuantConfig

        quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=cfg.per_channel,
                                                                                 is_dynamic=False))
        example = example_input(calib)
        model, tail = quantize_static(module, example, calib, quantizer, cfg.keep_decode_float,
                                      cfg.float_layers, onnx_path, fold_quantize=False)
        common.convert(model, example, out_dir, quant_config=QuantConfig(pt2e_quantizer=quantizer))
        return common.conversion(onnx_path, {"nodes_kept_float": tail, "calibration_images": len(calib),
                                             "per_channel": cfg.per_channel,
                                             "float_layers": len(cfg.float_layers)})


TARGET = LitertInt8Target()
