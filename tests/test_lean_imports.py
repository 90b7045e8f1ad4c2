"""The CLI and the device-side bench path never import torch, tensorflow or openvino."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "tensorflow", "openvino", "onnx", "onnxsim", "nncf")


def _loaded_heavy(code: str) -> list[str]:
    script = code + f"\nimport sys, json; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_edgekit_and_cli_stay_lean():
    assert _loaded_heavy("import edgekit, edgekit.cli, edgekit.bench, edgekit.bench_run, edgekit.evaluation") == []


def test_help_stays_lean():
    code = ("from typer.testing import CliRunner\nfrom edgekit.cli import app\n"
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output\n"
            "r = CliRunner().invoke(app, ['models']); assert r.exit_code == 0, r.output")
    assert _loaded_heavy(code) == []


def test_bench_runs_with_torch_and_tensorflow_unimportable(artifacts, bench_with_blocked_imports):
    """Block the heavy packages outright (import raises), then bench an ORT artifact end to end."""
    row = bench_with_blocked_imports(artifacts["nano-cls"], ("torch", "tensorflow", "openvino", "onnx"), runs=5)
    assert row["status"] == "ok"
