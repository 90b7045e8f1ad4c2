"""ONNX Runtime static quantization to a QDQ model, fed a CalibrationSet: the ``ort-int8`` target converts with
it and the accuracy budget's sensitivity ranking fake-quantizes with it (export side: onnx + onnxruntime).

Calibration is streamed. ORT's calibrators run an augmented model whose outputs are every tensor, and keep
those outputs for every image they are given before computing ranges: at 640 px a nano YOLO holds hundreds of
MB per image, so 128 images took 12-21 GB. ``quantize_static``'s ``CalibStridedMinMax`` option feeds the
calibrator ``stride`` images at a time (the reader's ``set_range``): MinMax merges each stride's ranges, the
histogram methods (Percentile, Entropy, Distribution) merge each stride into one running histogram. The stride
is the largest divisor of the image count whose outputs fit ``calibration_memory`` (``calibration_stride``).
ORT 1.31's own ``CalibMaxIntermediateOutputs`` is no help: its MinMax calibrator drops the outputs it clears
instead of merging them, and the histogram calibrators ignore it. A streamed Percentile calibration starts from
histograms seeded with every tensor's extremes (``qdq_ranges``), over the bins the unbounded one uses.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from ..data.calibration import CalibrationSet
from ..errors import ExportError
from ..memory import MIB
from .onnx_utils import onnx_io_specs
from .qdq_ranges import running_mean_minmax, seeded_percentile

#: edgekit's own methods, each run as one of ORT's with extra options, inside a hook on its calibrator
OWN_METHODS = {"MeanMinMax": ("MinMax", {"CalibMovingAverage": True})}

#: default memory for one stride's intermediate outputs (the peak adds the model, ORT and the reader)
CALIBRATION_MEMORY = 768 * MIB
#: a stride's outputs are held twice: the calibrator's list and the stacked copy its histogram collector makes
OUTPUT_COPIES = 2


def _enum(kind: type, value: str) -> Any:
    try:
        return getattr(kind, value)
    except AttributeError:
        raise ExportError(f"unknown {kind.__name__} {value!r}") from None


def calibration_stride(images: int, activation_bytes: int, memory: int = CALIBRATION_MEMORY) -> int:
    """The largest divisor of ``images`` whose intermediate outputs (``activation_bytes`` per image, held
    ``OUTPUT_COPIES`` times) fit ``memory``; at least 1 (one image at a time)."""
    fits = max(memory // max(activation_bytes * OUTPUT_COPIES, 1), 1)
    return max(d for d in range(1, images + 1) if images % d == 0 and d <= fits)


def quantize_qdq(
    src: Path,
    dst: Path,
    calib: CalibrationSet,
    *,
    per_channel: bool = True,
    reduce_range: bool = True,
    activation_type: str = "QUInt8",
    weight_type: str = "QInt8",
    calibration_method: str = "MinMax",
    nodes_to_exclude: list[str] | tuple[str, ...] = (),
    stride: int | None = None,
    op_types: list[str] | tuple[str, ...] = (),
) -> int:
    """Write ``src`` quantized (QDQ format, calibrated on ``calib``) to ``dst``; types and method by name (ORT's
    ``CalibrationMethod`` names, or ``MeanMinMax``: each tensor's per-image min and max averaged over the images).
    ``stride``: images per calibration pass (default: what ``CALIBRATION_MEMORY`` allows). ``op_types``: quantize
    only these operators (default: every one ORT can). Returns the stride."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from .activations import activation_bytes

    input_name = onnx_io_specs(src)[0][0].name
    if stride is None:
        stride = calibration_stride(len(calib), activation_bytes(src))

    class Reader(CalibrationDataReader):
        """Feeds the CalibrationSet to ORT's calibrator, one sample at a time, ``set_range`` at a time."""

        def __init__(self) -> None:
            self.set_range(0, len(calib))

        def __len__(self) -> int:
            return len(calib)

        def set_range(self, start_index: int, end_index: int) -> None:
            self._samples = iter(CalibrationSet(calib.images[start_index:end_index], calib.preprocessing))

        def get_next(self) -> dict | None:
            sample = next(self._samples, None)
            return None if sample is None else {input_name: sample}

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice: we pass a simplified model
    ort_method, extra = OWN_METHODS.get(calibration_method, (calibration_method, {}))
    if calibration_method in OWN_METHODS:
        hook = running_mean_minmax()
    elif stride < len(calib):  # streamed: the Percentile histograms start from every tensor's extremes
        hook = seeded_percentile(calib, input_name)
    else:
        hook = contextlib.nullcontext()
    try:
        with hook:
            quantize_static(
                str(src),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                reduce_range=reduce_range,
                activation_type=_enum(QuantType, activation_type),
                weight_type=_enum(QuantType, weight_type),
                calibrate_method=_enum(CalibrationMethod, ort_method),
                nodes_to_exclude=list(nodes_to_exclude),
                op_types_to_quantize=list(op_types) or None,
                extra_options={"CalibStridedMinMax": stride, **extra},
            )
    finally:
        root.setLevel(level)
    return stride
