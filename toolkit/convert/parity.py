"""Compare a converted artifact with its FP32 parent on calibration images; refuse catastrophic conversions.

Detector outputs are compared per part (boxes, scores): pixel-scale boxes would otherwise dominate one
cosine and hide scores collapsed to zero by a shared INT8 range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bench.sessions import open_session
from ..data.calibration import CalibrationSet
from ..errors import ExportError
from ..manifest import Artifact
from ..tasks.registry import TASKS
from .agreement import Agreement

CATASTROPHIC_COSINE = 0.9
PARITY_IMAGES = 8


def _parts(task: str) -> dict[str, slice]:
    return {name: slice(start, stop) for name, start, stop in TASKS[task].parity_parts}


def compare_with_parent(artifact: Artifact, parent_onnx: Path, calib: CalibrationSet) -> dict[str, float]:
    """Cosine and max |diff| per output part of artifact vs parent; ``ExportError`` when catastrophic."""
    import onnxruntime as ort

    parent = ort.InferenceSession(str(parent_onnx), providers=["CPUExecutionProvider"])
    parent_input = parent.get_inputs()[0].name
    session = open_session(artifact, threads=1)
    parts = _parts(artifact.manifest.task)
    agreements = {name: Agreement() for name in parts}
    for sample in calib.take(PARITY_IMAGES):
        want = np.asarray(parent.run(None, {parent_input: sample})[0])
        got = session.run(sample)[0]
        for name, part in parts.items():
            agreements[name].update(want[:, part], got[:, part])
    nonfinite = sum(agreement.nonfinite for agreement in agreements.values())
    if nonfinite:
        raise ExportError(
            f"output has {nonfinite} NaN or inf values on {PARITY_IMAGES} calibration images "
            "(parent or converted model)"
        )
    result: dict[str, float] = {"images": min(len(calib), PARITY_IMAGES)}
    for name, agreement in agreements.items():
        result[f"cosine_{name}"] = agreement.cosine
        result[f"max_abs_{name}"] = agreement.max_abs
    worst = min(v for k, v in result.items() if k.startswith("cosine_"))
    if worst < CATASTROPHIC_COSINE:
        raise ExportError(
            f"output diverges from the FP32 parent (cosine {worst:.3f} < {CATASTROPHIC_COSINE}): "
            + ", ".join(f"{k}={v:.3g}" for k, v in result.items())
        )
    return result
