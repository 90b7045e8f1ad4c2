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
    for model in sorted({spec.reference_model for spec in TASKS.values()}):
        root = tmp_path_factory.mktemp(model)
        rows = export_model(model, ["onnx-fp32"], root)
        assert [r.status for r in rows] == ["ok"]
        out[model] = root / "onnx-fp32"
    return out


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
        code = (f"import sys\nfor name in {blocked!r}: sys.modules[name] = None\n"
                "from typer.testing import CliRunner\nfrom edgekit.cli import app\n"
                f"r = CliRunner().invoke(app, ['bench', {str(artifact)!r}, '--json', {str(out)!r}, "
                f"'--runs', '{runs}', '--min-seconds', '0'])\nassert r.exit_code == 0, r.output")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr + result.stdout
        return json.loads(out.read_text())["results"][0]

    return run
