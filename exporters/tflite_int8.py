"""``tflite-int8``: full-integer quantization (int8 weights and activations, int8 input and output tensors).

Calibrated on the model's CalibrationSet with the TFLite converter; only builtin int8 kernels are allowed, so
a model that cannot be fully integer fails here instead of silently keeping float ops. Detectors get boxes and
scores as separate outputs by default so each has its own int8 range (the runtime puts them back together).
"""

from __future__ import annotations

from dataclasses import dataclass

from .tflite_common import TfliteConfig, TfliteTarget


@dataclass(frozen=True)
class TfliteInt8Config(TfliteConfig):
    """``per_channel``: one weight scale per output channel (else per tensor). ``keep_decode_float``: run a
    detector's decode tail as a float stage after the full-integer body (int8 in, int8 out).
    ``float_head_convs``: with the decode tail, the head's last convolutions (box and class outputs per level)
    join the float stage (``edgekit.convert.graph_remedies.head_output_convs``).
    ``float_tail_from``: ONNX node names that start the float stage early: each, with everything after it,
    runs in float (a full-integer TFLite graph cannot hold float layers in its middle).
    ``calibration_method``: ``MeanMinMax`` (each activation's range is the mean over the images of each image's
    min and max; ``exporters/tflite_ranges.py``) or ``MinMax`` (the converter's own: extremes over all images).
    MeanMinMax kept the converged 256 px YOLO26n within 0.92 pt where MinMax lost 10.95; on the 640 px YOLO26n
    it lost 0.97 pt where MinMax lost 0.55 (``docs/targets.md``, ``docs/yolo.md``), before the head's last
    convolutions joined the float stage (0.12 pt since, ``benchmarks/yolo26/int8-640-head-convs.json``)."""

    per_channel: bool = True
    calibration_method: str = "MeanMinMax"
    keep_decode_float: bool = True
    float_head_convs: bool = True
    float_tail_from: tuple[str, ...] = ()


TARGET = TfliteTarget(
    "tflite-int8",
    "int8",
    TfliteInt8Config,
    float_nodes_option="float_tail_from",
    budget_alternatives=({"calibration_method": "MinMax"},),
)
