"""Calibration ranges for ORT's quantizer beyond its own (export side: onnxruntime): a streamed Percentile over
the unbounded one's bins, and MeanMinMax, the mean over images of each tensor's per-image min and max.

MeanMinMax is NNCF's default for per-tensor activations (``MEAN_MINMAX``). ORT's MinMax calibrator with
``CalibMovingAverage`` takes the mean of its per-image ReduceMin/ReduceMax outputs within one call, but merges
successive calls (edgekit's strides) by an exponential moving average; ``running_mean_minmax`` sets the average's
constant before each stride's merge to that stride's share of the images so far, so the merged range is the plain
mean over every image, whatever the stride.

ORT's symmetric Percentile collector histograms ``|x|`` of each tensor. Unbounded, its one call sees every image,
so the bins span ``[min |x|, max |x|]`` of all of them. Streamed (``CalibStridedMinMax``), the first stride fixes
the bin width from its own extremes and later strides add bins of that width: the 99.999th percentile lands a
little elsewhere (0.08-0.22 pt of mAP50-95 on 640 px YOLOs before this). ``seeded_percentile`` runs a light pass
first, one image at a time through the calibrator's own augmented model, for each tensor's extremes, and gives the
collector, before its first stride, empty histograms over exactly the bins the unbounded call would have made;
every stride then only adds counts. On the test model the written model is the unbounded one byte for byte; on
640 px YOLOs a 0.05-0.07 pt gap remained (benchmarks/memory/percentile-640.json), cause not yet found.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data.calibration import CalibrationSet


def _extremes(calibrator: Any, calib: CalibrationSet, input_name: str) -> dict[str, tuple[Any, Any]]:
    """Each calibrated tensor's (min, max) over every calibration image, one image's outputs at a time."""
    session = calibrator.infer_session
    names = [output.name for output in session.get_outputs()]
    wanted = [index for index, name in enumerate(names) if name in calibrator.tensors_to_calibrate]
    found: dict[str, tuple[Any, Any]] = {}
    for sample in calib:
        outputs = session.run(None, {input_name: sample})
        for index in wanted:
            array = np.asarray(outputs[index])
            if array.size == 0:
                continue
            low, high = np.nanmin(array), np.nanmax(array)
            name = names[index]
            if name in found:
                low, high = min(found[name][0], low), max(found[name][1], high)
            found[name] = (low, high)
    return found


def _empty_histogram(low: Any, high: Any, bins: int) -> tuple[Any, ...]:
    """The collector's entry for a tensor with extremes ``low``/``high``: zero counts over the bins that
    ``np.histogram(|x|, bins)`` of all the data would use (the edges depend on the data's extremes alone)."""
    dtype = np.asarray(low).dtype
    least = np.zeros((), dtype) if low <= 0 <= high else min(abs(low), abs(high))
    most = max(abs(low), abs(high))
    edges = np.histogram_bin_edges(np.array([least, most], dtype=dtype), bins=bins).astype(dtype)
    return np.zeros(bins, dtype=np.int64), edges, low, high


def _running_mean(calibrator: Any) -> None:
    """Make ``calibrator`` (ORT MinMax, moving average) merge its calls as one mean over every image."""
    compute = calibrator.compute_data
    seen = 0

    def compute_as_mean() -> Any:
        nonlocal seen
        images = len(calibrator.intermediate_outputs)
        if images:
            calibrator.averaging_constant = images / (seen + images)
            seen += images
        return compute()

    calibrator.compute_data = compute_as_mean


@contextlib.contextmanager
def _calibrator_hook(hook: Any) -> Iterator[None]:
    """Within this block, ``hook(calibrator)`` runs on each calibrator ORT's quantizer creates."""
    import importlib

    # ``onnxruntime.quantization.quantize`` is also the name of a function the package exports: import the module
    quantize = importlib.import_module("onnxruntime.quantization.quantize")
    create = quantize.create_calibrator

    def create_hooked(*args: Any, **kwargs: Any) -> Any:
        calibrator = create(*args, **kwargs)
        hook(calibrator)
        return calibrator

    quantize.create_calibrator = create_hooked
    try:
        yield
    finally:
        quantize.create_calibrator = create


def running_mean_minmax() -> contextlib.AbstractContextManager[None]:
    """Within this block, ORT's moving-average MinMax calibrators average every image equally (MeanMinMax)."""
    return _calibrator_hook(
        lambda calibrator: _running_mean(calibrator) if getattr(calibrator, "moving_average", False) else None
    )


def seeded_percentile(calib: CalibrationSet, input_name: str) -> Iterator[None]:
    """Within this block, ORT's symmetric Percentile calibrators start from histograms seeded as above."""
    from onnxruntime.quantization import calibrate

    def seed(calibrator: Any) -> None:
        if getattr(calibrator, "method", None) != "percentile" or not getattr(calibrator, "symmetric", False):
            return
        collector = calibrate.HistogramCollector(
            method=calibrator.method,
            symmetric=calibrator.symmetric,
            num_bins=calibrator.num_bins,
            num_quantized_bins=calibrator.num_quantized_bins,
            percentile=calibrator.percentile,
            scenario=getattr(calibrator, "scenario", "same"),
        )
        for name, (low, high) in _extremes(calibrator, calib, input_name).items():
            collector.histogram_dict[name] = _empty_histogram(low, high, calibrator.num_bins)
        calibrator.collector = collector

    return _calibrator_hook(seed)
