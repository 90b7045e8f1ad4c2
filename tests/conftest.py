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
    """Export each task's reference model to onnx-fp32 once; returns {model name: artifact dir}."""
    from edgekit.convert.run import export_model
    from edgekit.tasks.registry import TASKS

    out = {}
    for model in sorted({spec.reference_model for spec in TASKS.values() if spec.reference_model}):
        root = tmp_path_factory.mktemp(model)
        rows = export_model(model, ["onnx-fp32"], root)
        assert [r.status for r in rows] == ["ok"]
        out[model] = root / "onnx-fp32"
    return out


@pytest.fixture(scope="session")
def reference_exports(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """``get(model, target)``: the ``ExportRow`` of ``model`` exported to ``target`` with default settings, made
    once per session and shared read-only by every test that only reads an artifact. In a full run the first
    request for a model exports every installed target in one call (the contract tests need them all, and the
    TFLite targets share one graph translation); in the fast lane (``-m "not slow"``, 16 calibration images)
    and for a target registered later (a plugin) only the one asked for."""
    from edgekit.convert.run import export_model
    from edgekit.registry import target_names, unavailable_targets

    cache: dict[tuple[str, str], object] = {}
    fast_lane = "not slow" in (request.config.getoption("markexpr", "") or "")

    def get(model: str, target: str):
        if (model, target) not in cache:
            names = (
                [target]
                if fast_lane or any(m == model for m, _ in cache)
                else [name for name in target_names() if name not in unavailable_targets()]
            )
            names += [] if target in names else [target]  # one not installed: its row says so
            calib = {"calib_images": 16} if fast_lane else {}  # the contract's accuracy bound needs the default
            for row in export_model(model, names, tmp_path_factory.mktemp(f"{model}-{target}"), **calib):
                cache[(model, row.target)] = row
        return cache[(model, target)]

    return get


@pytest.fixture(scope="session")
def det_dataset_root() -> Path:
    from edgekit.calibration_data.build import ensure_dataset

    return ensure_dataset("shapes-det")


@pytest.fixture
def bench_with_blocked_imports(tmp_path: Path):
    """Bench one artifact through the CLI in a fresh interpreter where ``blocked`` modules cannot be
    imported (``sys.modules[name] = None`` makes an import raise); returns its results row."""
    import json
    import subprocess
    import sys

    def run(artifact: Path, blocked: tuple[str, ...], runs: int) -> dict:
        out = tmp_path / "blocked-bench.json"
        code = (
            f"import sys\nfor name in {blocked!r}: sys.modules[name] = None\n"
            "from typer.testing import CliRunner\nfrom edgekit.cli import app\n"
            f"r = CliRunner().invoke(app, ['bench', {str(artifact)!r}, '--json', {str(out)!r}, "
            f"'--runs', '{runs}', '--min-seconds', '0'])\nassert r.exit_code == 0, r.output"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr + result.stdout
        return json.loads(out.read_text())["results"][0]

    return run
