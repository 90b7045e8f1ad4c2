"""``openvino-int8``: NNCF post-training quantization of the OpenVINO model (int8 weights and activations).

For detectors in the YOLOv8 convention the decode tail is put in NNCF's ``ignored_scope`` (float).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import nncf
from edgekit.config import TargetConfig
from edgekit.convert.graph_remedies import decode_tail_nodes
from edgekit.data.calibration import CalibrationSet
from edgekit.errors import ExportError

from .base import Conversion
from .openvino_ir import read_onnx, save_ir


@dataclass(frozen=True)
class OpenVinoInt8Config(TargetConfig):
    """``preset``: mixed (symmetric weights, asymmetric activations: right for SiLU) or performance.
    ``ignored_nodes``: ONNX node names kept in float (a Conv with bias is two OpenVINO nodes: both are kept).
    ``float_types``: OpenVINO op types kept in float everywhere (``Sigmoid``: SiLU's gate stays float, as
    Ultralytics' NNCF export does).
    ``overflow_fix``: NNCF's fix for the saturation of 8-bit kernels on CPUs without VNNI (AVX2, AVX-512): weights
    on half the 8-bit range in the first convolution only (``first_layer_only``, NNCF's default), in every
    convolution and MatMul but the depthwise convolutions (``enable``), or nowhere (``disable``)."""

    preset: str = "mixed"
    #: full bias correction: on YOLO11n 0.25 -> -0.16 pt drop, nano-det 0.33 -> 0.18, same speed
    #: (benchmarks/openvino_bias_correction.json)
    fast_bias_correction: bool = False
    keep_decode_float: bool = True
    ignored_nodes: tuple[str, ...] = ()
    float_types: tuple[str, ...] = ()
    overflow_fix: str = "first_layer_only"


class OpenVinoInt8Target:
    name = "openvino-int8"
    runtime = "openvino"
    config_cls = OpenVinoInt8Config
    float_nodes_option = "ignored_nodes"
    #: ``--max-drop`` tries the overflow fix in every convolution before handing layers back to float: on a CPU
    #: without VNNI it took the 640 px YOLO26n's end-to-end drop from 0.66 to 0.12 pt (docs/yolo.md)
    budget_alternatives = ({"overflow_fix": "enable"},)

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: OpenVinoInt8Config, out_dir: Path) -> Conversion:
        presets = {"mixed": nncf.QuantizationPreset.MIXED, "performance": nncf.QuantizationPreset.PERFORMANCE}
        if cfg.preset not in presets:
            raise ExportError(f"openvino-int8: preset must be one of {', '.join(presets)}, got {cfg.preset!r}")
        fixes = [fix.value for fix in nncf.OverflowFix]
        if cfg.overflow_fix not in fixes:
            got = cfg.overflow_fix
            raise ExportError(f"openvino-int8: overflow_fix must be one of {', '.join(fixes)}, got {got!r}")
        nncf.set_log_level(logging.WARNING)  # its per-node INFO lines drown the export table
        ignored = list(cfg.ignored_nodes) + (decode_tail_nodes(onnx_path) if cfg.keep_decode_float else [])
        ignored += [f"{name}/WithoutBiases" for name in cfg.ignored_nodes]  # OpenVINO's name for a Conv's conv
        quantized = nncf.quantize(
            read_onnx(onnx_path),
            nncf.Dataset(calib),  # read again on each pass: never every image in memory at once
            preset=presets[cfg.preset],
            subset_size=len(calib),
            fast_bias_correction=cfg.fast_bias_correction,
            ignored_scope=nncf.IgnoredScope(names=ignored, types=list(cfg.float_types), validate=False),
            advanced_parameters=nncf.AdvancedQuantizationParameters(overflow_fix=nncf.OverflowFix(cfg.overflow_fix)),
        )
        return save_ir(
            quantized,
            out_dir,
            compress_to_fp16=False,
            notes={"nodes_kept_float": len(ignored), "calibration_images": len(calib), "nncf": nncf.__version__},
        )


TARGET = OpenVinoInt8Target()
