"""ONNX Runtime static quantization to a QDQ model, fed a CalibrationSet: the ``ort-int8`` target converts with
it and the accuracy budget's sensitivity ranking fake-quantizes with it (export side: onnx + onnxruntime)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..data.calibration import CalibrationSet
from ..errors import ExportError
from .onnx_utils import onnx_io_specs


def _enum(kind: type, value: str) -> Any:
    try:
        return getattr(kind, value)
    except AttributeError:
        raise ExportError(f"unknown {kind.__name__} {value!r}") from None


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
) -> None:
    """Write ``src`` quantized (QDQ format, calibrated on ``calib``) to ``dst``; types and method by name."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    input_name = onnx_io_specs(src)[0][0].name

    class Reader(CalibrationDataReader):
        """Feeds the CalibrationSet to ORT's calibrator, one sample at a time."""

        def __init__(self) -> None:
            self._samples = iter(calib)

        def get_next(self) -> dict | None:
            sample = next(self._samples, None)
            return None if sample is None else {input_name: sample}

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice: we pass a simplified model
    try:
        quantize_static(
            str(src),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            reduce_range=reduce_range,
            activation_type=_enum(QuantType, activation_type),
            weight_type=_enum(QuantType, weight_type),
            calibrate_method=_enum(CalibrationMethod, calibration_method),
            nodes_to_exclude=list(nodes_to_exclude),
        )
    finally:
        root.setLevel(level)
