"""One environment for a YOLO user (``pip install torch==2.14.1 torchvision==0.29.1 && pip install '.[yolo]'``,
docs/install.md): a YOLO26n checkpoint goes to every target installed there (ONNX Runtime, OpenVINO, TFLite;
not ExecuTorch, whose 1.5 build crashed beside Ultralytics' torch 2.14) with no second venv. CI's environment has no
Ultralytics (AGPL, and its torchvision does not load beside the CPU torch [all] pins), so it skips there; it
runs where that environment exists."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from edgekit.convert.run import export_model

CHECKPOINT = Path(__file__).parent.parent / "benchmarks" / "models" / "yolo26n-shapes-converged.pt"
NEEDED = ("ultralytics", "openvino", "nncf", "tensorflow", "onnx2tf")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(MISSING), reason=f"not the one-environment install: no {', '.join(MISSING)}"),
]


def test_a_yolo26n_checkpoint_reaches_every_target_in_one_environment(tmp_path):
    rows = export_model(str(CHECKPOINT), ["all"], tmp_path / "out", data="shapes-det", calib_images=16, trust=True)
    assert {"ort-int8", "openvino-int8", "tflite-int8"} <= {row.target for row in rows}
    assert [f"{row.target}: {row.status}" for row in rows if row.status != "ok"] == []
