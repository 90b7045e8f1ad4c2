"""``edgekit bench --profile``: per-operator profiles on each runtime, summed by type and kind, rendered again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edgekit.bench.profiling import KINDS, load_profile, summarize
from edgekit.cli import app
from typer.testing import CliRunner

INT8_TARGETS = ["ort-int8", "openvino-int8", "tflite-int8"]


@pytest.fixture(scope="module")
def int8_artifacts(reference_exports) -> dict[str, Path]:
    rows = [reference_exports("nano-det", target) for target in INT8_TARGETS]
    assert [row.status for row in rows] == ["ok"] * len(INT8_TARGETS)
    return {row.target: row.path for row in rows}


@pytest.fixture(scope="module")
def profile(int8_artifacts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("profile-out") / "profile.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            *map(str, int8_artifacts.values()),
            "--runs",
            "3",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
            "--profile",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "op type" in result.output and "quantize/dequantize" in result.output
    document = load_profile(out)
    assert document is not None
    return document | {"path": str(out)}


def test_every_runtime_profiles_its_int8_artifact_per_operator(profile: dict) -> None:
    by_target = {p["target"]: p for p in profile["profiles"]}
    assert sorted(by_target) == sorted(INT8_TARGETS)
    for target, entry in by_target.items():
        ops, summary = entry["ops"], entry["summary"]
        assert len(ops) >= 10, target
        assert all(op["ms"] >= 0 and op["kind"] in KINDS for op in ops), target
        assert summary["by_kind"]["int8"]["share"] > 0.5, (target, summary["by_kind"])  # an int8 model
        assert sum(e["ms"] for e in summary["by_type"]) == pytest.approx(summary["ops_ms"])
        assert sum(k["share"] for k in summary["by_kind"].values()) == pytest.approx(1.0)
        assert entry["bench_p50_ms"] > 0 and "median of" in entry["method"]
    ort_types = {op["op_type"] for op in by_target["ort-int8"]["ops"]}
    assert "QLinearConv" in ort_types  # profiled after ORT's QDQ fusions
    assert any(op["kind"] == "quantize" for op in by_target["ort-int8"]["ops"])  # the input's QuantizeLinear
    assert any(op["detail"].endswith("I8") for op in by_target["openvino-int8"]["ops"])  # OpenVINO exec types
    tflite_types = {op["op_type"] for op in by_target["tflite-int8"]["ops"]}
    assert "CONV_2D" in tflite_types
    assert any(op["name"].startswith("decode.tflite#") for op in by_target["tflite-int8"]["ops"])  # both stages


def test_the_report_renders_a_profile_and_refuses_csv(profile: dict, tmp_path: Path) -> None:
    markdown = tmp_path / "profile.md"
    result = CliRunner().invoke(app, ["report", profile["path"], "--markdown", str(markdown)])
    assert result.exit_code == 0, result.output
    text = markdown.read_text()
    assert text.count("| op type | ms | share |") == len(INT8_TARGETS) and "QLinearConv" in text
    refused = CliRunner().invoke(app, ["report", profile["path"], "--csv", str(tmp_path / "p.csv")])
    assert refused.exit_code == 2 and not (tmp_path / "p.csv").exists()


def test_a_broken_profile_file_is_one_line(profile: dict, tmp_path: Path) -> None:
    document = json.loads(Path(profile["path"]).read_text())
    document["profiles"][0]["summary"]["by_kind"].pop("int8")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = CliRunner().invoke(app, ["report", str(broken)])
    assert result.exit_code == 2 and "by_kind.int8" in result.output


def test_summaries_add_up() -> None:
    ops = [
        {"op_type": "Conv", "kind": "int8", "ms": 3.0},
        {"op_type": "Conv", "kind": "float", "ms": 1.0},
        {"op_type": "QuantizeLinear", "kind": "quantize", "ms": 1.0},
    ]
    summary = summarize(ops)
    assert summary["by_type"][0] == {"op_type": "Conv", "ms": 4.0, "share": 0.8}
    assert summary["qdq_share"] == pytest.approx(0.2) and summary["float_ops"] == 1


def test_profiling_a_tflite_artifact_imports_no_torch_or_tensorflow(
    int8_artifacts: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "tflite-profile.json"
    code = (
        "import sys\nfor name in ('torch', 'tensorflow'): sys.modules[name] = None\n"
        "from typer.testing import CliRunner\nfrom edgekit.cli import app\n"
        f"r = CliRunner().invoke(app, ['bench', {str(int8_artifacts['tflite-int8'])!r}, '--runs', '2', "
        f"'--min-seconds', '0', '--profile', {str(out)!r}])\nassert r.exit_code == 0, r.output"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(out.read_text())["profiles"][0]["runtime"] == "tflite"
