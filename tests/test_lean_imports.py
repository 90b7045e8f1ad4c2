"""The CLI and the device-side bench path never import torch, tensorflow or openvino."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "tensorflow", "openvino", "onnx", "onnxsim", "nncf")


def _loaded_heavy(code: str) -> list[str]:
    script = code + (
        f"\nimport sys, json; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_edgekit_and_cli_stay_lean():
    code = "import edgekit, edgekit.cli, edgekit.bench.harness, edgekit.bench.run, edgekit.tasks.evaluation"
    assert _loaded_heavy(code) == []


def test_the_device_side_subpackages_import_without_torch_or_tensorflow():
    """edgekit.bench, edgekit.data, edgekit.tasks, the report, results, card and manifest import none of the heavy
    packages; a runtime adapter imports its own runtime (OpenVINO's does) but never torch or TensorFlow."""
    import pkgutil
    from pathlib import Path

    import edgekit

    root = Path(edgekit.__file__).parent
    modules = [
        f"edgekit.{package}.{info.name}"
        for package in ("bench", "data", "tasks", "report")
        for info in pkgutil.iter_modules([str(root / package)])
    ]
    modules += ["edgekit.results", "edgekit.card", "edgekit.manifest", "edgekit.api"]
    assert len(modules) > 20
    assert _loaded_heavy("\n".join(f"import {name}" for name in modules)) == []
    adapters = "\n".join(f"import edgekit.runtimes.{name}" for name in ("onnxruntime", "openvino", "tflite"))
    assert not {name.split(".")[0] for name in _loaded_heavy(adapters)} & {"torch", "tensorflow"}


def test_help_stays_lean():
    code = (
        "from typer.testing import CliRunner\nfrom edgekit.cli import app\n"
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['models']); assert r.exit_code == 0, r.output"
    )
    assert _loaded_heavy(code) == []


def test_bench_runs_with_torch_and_tensorflow_unimportable(artifacts, bench_with_blocked_imports):
    """Block the heavy packages outright (import raises), then bench an ORT artifact end to end."""
    row = bench_with_blocked_imports(artifacts["nano-cls"], ("torch", "tensorflow", "openvino", "onnx"), runs=5)
    assert row["status"] == "ok"
