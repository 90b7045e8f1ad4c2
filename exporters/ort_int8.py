"""``ort-int8``: ONNX Runtime static quantization in QDQ format, per-channel weights, run by ONNX Runtime.

Defaults measured on x86 AVX2 without VNNI (../shared/DESIGN.md): QUInt8 activations with QInt8 weights are
the fast pair there, and ``reduce_range`` avoids U8S8 saturation. For detectors in the YOLOv8 convention the
decode tail stays in float (``keep_decode_float``), found on the ONNX graph by ``float_tail_nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnxruntime
from edgekit.config import TargetConfig
from edgekit.convert.activations import activation_bytes
from edgekit.convert.graph_remedies import compact_names, float_tail_nodes
from edgekit.convert.onnx_utils import onnx_io_specs
from edgekit.convert.qdq import CALIBRATION_MEMORY, calibration_stride, quantize_qdq
from edgekit.data.calibration import CalibrationSet
from edgekit.errors import ExportError
from edgekit.memory import MIB

from .base import Conversion

#: ``quantize_ops`` -> the operator types handed to ``quantize_static`` (empty: all it can quantize)
QUANTIZE_OPS: dict[str, tuple[str, ...]] = {"all": (), "conv": ("Conv", "MatMul")}


@dataclass(frozen=True)
class OrtInt8Config(TargetConfig):
    """Options of ``quantize_static``; the defaults are the accurate (and on AVX2, fast) choice.

    ``calibration_method``: MeanMinMax (each activation's range is the mean over the images of each image's
    min and max, NNCF's default; ``edgekit.convert.qdq_ranges``), or ORT's own MinMax, Percentile (99.999th),
    Entropy. On fresh study images (``benchmarks/calibration_study*.md``) MeanMinMax lost -0.10 / 0.07 / 0.44 /
    1.27 mAP50-95 points on the YOLOv8n / YOLO11n / nano-det / converged YOLO26n against Percentile's 0.26 /
    0.37 / 0.35 / 9.29, in a third of the export time: one rare large activation no longer widens a range for
    every image (YOLO26's direct box regression has no DFL softmax to average that coarseness away).
    Not everywhere: on the 640 px YOLO26n fine-tune it lost 1.43 pt against Percentile's 0.72 (docs/yolo.md),
    before the head's last convolutions were float (0.31 pt since, ``benchmarks/yolo26/int8-640-head-convs.json``).
    ``reduce_range`` avoids U8S8 saturation on CPUs without VNNI.
    ``float_head_convs``: with the decode tail, the head's last convolutions (box and class outputs per level)
    stay float too (``edgekit.convert.graph_remedies.head_output_convs``).
    ``compact_names`` shortens the quantizer's long tensor/node names (graph inputs and outputs keep theirs).
    ``quantize_ops``: ``all`` (every operator ORT can quantize: SiLU's Sigmoid and Mul, Add, Concat, ... too) or
    ``conv`` (convolutions and matrix products only, as OpenVINO's NNCF does; the rest runs in float between a
    DequantizeLinear and the next QuantizeLinear).
    ``calibration_memory_mb``: memory for the intermediate outputs ORT's calibrator holds at once; the images
    are fed in strides that fit it (``edgekit.convert.qdq``): a YOLO11n at 640 px holds ~490 MB per image, so
    the default calibrates one image at a time (peak 1 GB instead of ~50 GB for 128 images).
    """

    activation_type: str = "QUInt8"
    weight_type: str = "QInt8"
    per_channel: bool = True
    reduce_range: bool = True
    calibration_method: str = "MeanMinMax"
    keep_decode_float: bool = True
    float_head_convs: bool = True
    exclude_nodes: tuple[str, ...] = ()
    compact_names: bool = True
    calibration_memory_mb: int = CALIBRATION_MEMORY // MIB
    quantize_ops: str = "all"


class OrtInt8Target:
    name = "ort-int8"
    runtime = "onnxruntime"
    config_cls = OrtInt8Config
    float_nodes_option = "exclude_nodes"
    budget_alternatives = ({"calibration_method": "Percentile"},)

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: OrtInt8Config, out_dir: Path) -> Conversion:
        if cfg.calibration_memory_mb < 1:
            raise ExportError(f"ort-int8: calibration_memory_mb must be at least 1, got {cfg.calibration_memory_mb}")
        if cfg.quantize_ops not in QUANTIZE_OPS:
            raise ExportError(f"quantize_ops {cfg.quantize_ops!r}: not {' or '.join(QUANTIZE_OPS)}")
        tail = float_tail_nodes(onnx_path, cfg.float_head_convs) if cfg.keep_decode_float else []
        excluded = list(cfg.exclude_nodes) + [name for name in tail if name not in cfg.exclude_nodes]
        stride = quantize_qdq(
            onnx_path,
            out_dir / "model.onnx",
            calib,
            per_channel=cfg.per_channel,
            reduce_range=cfg.reduce_range,
            activation_type=cfg.activation_type,
            weight_type=cfg.weight_type,
            calibration_method=cfg.calibration_method,
            nodes_to_exclude=excluded,
            op_types=QUANTIZE_OPS[cfg.quantize_ops],
            stride=calibration_stride(len(calib), activation_bytes(onnx_path), cfg.calibration_memory_mb * MIB),
        )
        saved = compact_names(out_dir / "model.onnx") if cfg.compact_names else 0
        inputs, outputs = onnx_io_specs(out_dir / "model.onnx")
        return Conversion(
            "model.onnx",
            ["model.onnx"],
            inputs,
            outputs,
            tool_versions={"onnxruntime": onnxruntime.__version__},
            notes={
                "nodes_kept_float": len(excluded),
                "calibration_images": len(calib),
                "calibration_stride": stride,
                "name_bytes_saved": saved,
            },
        )


TARGET = OrtInt8Target()
