"""A target from outside the package: declared by an installed distribution's entry point, then exported, benched
and gated through the CLI with no change to edgekit — and the public Python API doing the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from edgekit.errors import EdgekitError

#: a real converter: ONNX Runtime's offline graph optimizer writes the fused model, run by ONNX Runtime
PLUGIN_MODULE = '''
"""onnx-opt: the parent ONNX with ONNX Runtime's extended graph optimizations applied offline."""
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from edgekit.config import TargetConfig
from edgekit.exporters.base import Conversion
from edgekit.convert.onnx_utils import onnx_io_specs


@dataclass(frozen=True)
class OnnxOptConfig(TargetConfig):
    level: str = "extended"


class OnnxOptTarget:
    name = "onnx-opt"
    runtime = "onnxruntime"
    config_cls = OnnxOptConfig

    def convert(self, onnx_path, calib, cfg, out_dir):
        options = ort.SessionOptions()
        options.graph_optimization_level = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}[cfg.level]
        options.optimized_model_filepath = str(Path(out_dir) / "model.onnx")
        ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        inputs, outputs = onnx_io_specs(Path(out_dir) / "model.onnx")
        return Conversion("model.onnx", ["model.onnx"], inputs, outputs, {"onnxruntime": ort.__version__})


TARGET = OnnxOptTarget()

from edgekit.registry import Family

FAMILY = Family("fused", None, "onnx-opt")
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the plugin package and its ``.dist-info`` (what ``pip install`` would leave)."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "edgekit_demo_plugin.py").write_text(PLUGIN_MODULE)
    info = root / "edgekit_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: edgekit-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""\
        [edgekit.targets]
        onnx-opt = edgekit_demo_plugin:TARGET
        onnx-fp32 = edgekit_demo_plugin:TARGET
        broken = edgekit_missing_module:TARGET

        [edgekit.families]
        fused = edgekit_demo_plugin:FAMILY
        tflite = edgekit_demo_plugin:FAMILY
        """)
    )
    return root


def _edgekit(plugin_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "edgekit.cli", *args], capture_output=True, text=True, env=env)


def test_a_plugin_target_is_exported_benched_and_gated(plugin_path: Path, tmp_path: Path) -> None:
    listed = _edgekit(plugin_path, "models")
    assert listed.returncode == 0 and "onnx-opt" in listed.stdout, listed.stderr
    assert "family   fused" in listed.stdout and "-> onnx-opt" in listed.stdout  # a plugin's family is listed
    code = "import edgekit.registry as r; print([(x.name, x.family) for x in r.resolve_targets(['fused', 'tflite'])])"
    resolved = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(plugin_path)}
    )
    # no shadowing
    assert resolved.stdout.strip() == "[('onnx-opt', 'fused'), ('tflite-int8', 'tflite')]", resolved.stderr
    out = tmp_path / "out"
    exported = _edgekit(plugin_path, "export", "nano-det", "-t", "onnx-fp32", "-t", "onnx-opt", "-o", str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    manifest = json.loads((out / "onnx-opt" / "edgekit.json").read_text())
    assert manifest["target"] == "onnx-opt" and manifest["config"]["level"] == "extended"
    assert manifest["parity_vs_parent"]["cosine_scores"] > 0.999  # the core's parity check ran on it
    results = tmp_path / "results.json"
    benched = _edgekit(
        plugin_path,
        "bench",
        str(out / "onnx-fp32"),
        str(out / "onnx-opt"),
        "--runs",
        "3",
        "--min-seconds",
        "0",
        "--rounds",
        "1",
        "--json",
        str(results),
    )
    assert benched.returncode == 0, benched.stdout + benched.stderr
    rows = {row["target"]: row for row in json.loads(results.read_text())["results"]}
    assert rows["onnx-opt"]["status"] == "ok" and rows["onnx-opt"]["parent"] == "onnx-fp32"
    assert abs(rows["onnx-opt"]["drop"]["map50_95"]) < 0.005
    gated = _edgekit(
        plugin_path,
        "gate",
        "--baseline",
        str(results),
        "--current",
        str(results),
        "--max-reference-latency-growth",
        "-1",
        "--max-busy-share",
        "100",
    )  # rows, not timing
    assert gated.returncode == 0 and "onnx-opt" in gated.stdout, gated.stdout + gated.stderr


def test_a_plugin_cannot_take_a_builtin_name_and_a_broken_one_fails_in_one_line(
    plugin_path: Path, tmp_path: Path
) -> None:
    env = os.environ | {"PYTHONPATH": str(plugin_path)}
    code = "import edgekit.registry as r; print(type(r.get_target('onnx-fp32')).__module__)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert shown.stdout.strip() == "edgekit.exporters.onnx_fp32", shown.stderr
    broken = _edgekit(plugin_path, "export", "nano-det", "-t", "broken", "-o", str(tmp_path / "b"))
    assert broken.returncode == 1 and "edgekit_missing_module" in broken.stdout  # its row failed, in the table
    code = "import edgekit.registry as r\ntry:\n    r.get_target('broken')\nexcept r.EdgekitError as e:\n    print(e)"
    message = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.strip()
    assert message == (
        "plugin edgekit_missing_module:TARGET cannot be imported: no module named 'edgekit_missing_module'"
    )
    assert "Traceback" not in broken.stdout + broken.stderr


def test_the_public_api_exports_benches_and_gates(tmp_path: Path) -> None:
    import edgekit.bench.harness  # noqa: F401 - submodules bound on the package must not hide the API's names
    import edgekit.report.gate  # noqa: F401

    assert "ort-int8" in edgekit.targets()
    rows = edgekit.export("nano-det", ["onnx-fp32"], tmp_path / "out")
    assert [row.status for row in rows] == ["ok"]
    artifact = edgekit.Artifact.load(tmp_path / "out" / "onnx-fp32")
    assert artifact.manifest.task == "detect"
    results = edgekit.benchmark([tmp_path / "out" / "onnx-fp32"], runs=2, min_seconds=0.0, rounds=1)
    assert results.rows[0].ok and results.rows[0].latency.p50_best_round > 0
    passed, verdict = edgekit.gate_check(
        results, results.to_dict(), max_reference_latency_growth=-1, max_busy_share=100
    )  # rows and reading, not timing
    assert passed and "edgekit gate: pass" in verdict
    # the keywords come from BenchOptions' fields: a misspelt one is one line that lists the known ones
    with pytest.raises(EdgekitError, match=r"unknown bench option\(s\): round \(known: threads"):
        edgekit.benchmark([tmp_path / "out" / "onnx-fp32"], round=3)


def test_the_public_api_compresses_and_the_card_travels_in_the_file(tmp_path: Path) -> None:
    import edgekit.compress.options  # noqa: F401 - the edgekit.compress sub-package must not hide compress_model

    report = edgekit.compress_model("nano-cls", tmp_path / "small.pt", prune=0.5)
    assert report["after"]["macs"] < report["before"]["macs"]
    rows = edgekit.export(str(tmp_path / "small.pt"), ["onnx-fp32"], tmp_path / "out", trust=True)  # no --data
    assert [row.status for row in rows] == ["ok"]
    card = edgekit.Artifact.load(tmp_path / "out" / "onnx-fp32").manifest.card
    assert card == edgekit.ModelCard.for_task("classify", card.preprocessing, card.class_names, "shapes-cls")
    assert card.preprocessing.size == 64 and card.class_names[0] == "circle"
