"""Shared fixtures: an isolated data cache and reference artifacts exported once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No wall-clock deadlines in pass/fail tests: these machines are shared and noisy.
settings.register_profile("edgekit", deadline=None)
settings.load_profile("edgekit")

CACHE = Path(os.environ.setdefault("EDGEKIT_CACHE", str(Path(__file__).parent.parent / ".pytest_cache" / "edgekit")))


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory):
    """Export each built-in model to onnx-fp32 once; returns {model name: artifact dir}."""
    from edgekit.exporting import export_model

    out = {}
    for model in ("nano-det", "nano-cls"):
        root = tmp_path_factory.mktemp(model)
        rows = export_model(model, ["onnx-fp32"], root)
        assert [r.status for r in rows] == ["ok"]
        out[model] = root / "onnx-fp32"
    return out


@pytest.fixture(scope="session")
def det_dataset_root() -> Path:
    from edgekit.calibration_data.build import ensure_dataset

    return ensure_dataset("shapes-det")
