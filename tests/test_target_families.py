"""Runtime-family names as targets (``edgekit export --target tflite``): each family resolves to its recommended
target, INT8 with calibration data and float without, and says which and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.registry import FAMILIES, resolve_targets, target_names, unavailable_targets
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
YOLO_ONNX = ROOT / "benchmarks" / "models" / "yolov8n-shapes.onnx"


@pytest.mark.parametrize(
    "family, int8, fp32",
    [
        ("tflite", "tflite-int8", "tflite-fp32"),
        ("openvino", "openvino-int8", "openvino-fp32"),
        ("ort", "ort-int8", "onnx-fp32"),
        ("onnxruntime", "ort-int8", "onnx-fp32"),
    ],
)
def test_each_family_resolves_to_int8_with_data_and_to_float_without(family: str, int8: str, fp32: str) -> None:
    [with_data] = resolve_targets([family], "shapes-det (--data)")
    assert (with_data.name, with_data.family) == (int8, FAMILIES[with_data.family].name)
    assert with_data.reason.endswith("calibrated on shapes-det (--data)") and int8 in with_data.reason
    [without] = resolve_targets([family], None)
    assert without.name == fp32 and "no calibration data" in without.reason and int8 in without.reason
    assert all(item.name in target_names() for item in (with_data, without))


def test_exact_targets_and_all_resolve_as_before_and_repeats_are_dropped() -> None:
    assert [r.name for r in resolve_targets(["tflite-fp32", "tflite", "tflite-int8"])] == ["tflite-fp32", "tflite-int8"]
    installed = [name for name in target_names() if name not in unavailable_targets()]
    assert [r.name for r in resolve_targets(["all"], None)] == installed  # exact names ignore the data
    assert all(r.family is None for r in resolve_targets(["onnx-fp32", "ort-int8"]))


def test_an_unknown_family_is_one_error_naming_the_families() -> None:
    with pytest.raises(EdgekitError, match=r"unknown target 'coreml' \(choose from: all, .*openvino.*tflite"):
        resolve_targets(["coreml"])
    result = CliRunner().invoke(app, ["export", "nano-det", "--target", "coreml", "-o", "unused"])
    assert result.exit_code == 2 and "unknown target 'coreml'" in result.output


def test_models_lists_the_families_and_what_they_resolve_to() -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    assert "tflite-int8 with calibration data, else tflite-fp32" in result.output
    assert "ort | onnxruntime" in result.output


def test_without_any_data_a_family_falls_back_to_its_float_target_with_the_reason(tmp_path: Path) -> None:
    """A user ONNX whose card names no dataset: no INT8 possible, so the float target, checked on noise images."""
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["export", str(YOLO_ONNX), "--target", "ort", "--target", "openvino", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "note: ort -> onnx-fp32: no calibration data" in result.output
    assert "note: openvino -> openvino-fp32: no calibration data" in result.output
    manifest = json.loads((out / "onnx-fp32" / "edgekit.json").read_text())
    assert manifest["target"] == "onnx-fp32" and manifest["dataset"] is None
    converted = json.loads((out / "openvino-fp32" / "edgekit.json").read_text())
    assert converted["parity_vs_parent"]["cosine_scores"] > 0.999  # checked against the parent on noise images
    exact = CliRunner().invoke(app, ["export", str(YOLO_ONNX), "--target", "ort-int8", "-o", str(tmp_path / "x")])
    assert exact.exit_code == 2 and "pass --data" in exact.output  # an exact INT8 target still needs data
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_each_family_exports_its_int8_target_from_the_card_dataset_and_benches(tmp_path: Path) -> None:
    """``edgekit export nano-det --target tflite|openvino|ort``: the model card names shapes-det, so each family
    calibrates on it and writes its INT8 target; bench scores each against the FP32 parent in one run."""
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "nano-det",
            "-t",
            "tflite",
            "-t",
            "openvino",
            "-t",
            "ort",
            "-t",
            "onnx-fp32",
            "-o",
            str(out),
            "--calib-images",
            "32",
        ],
    )
    assert result.exit_code == 0, result.output
    for line in ("tflite -> tflite-int8: full-integer INT8", "openvino -> openvino-int8", "ort -> ort-int8"):
        assert f"note: {line}" in result.output and "the model card's dataset" in result.output
    results = tmp_path / "results.json"
    dirs = [str(out / name) for name in ("onnx-fp32", "tflite-int8", "openvino-int8", "ort-int8")]
    benched = CliRunner().invoke(
        app, ["bench", *dirs, "--runs", "2", "--min-seconds", "0", "--rounds", "1", "--json", str(results)]
    )
    assert benched.exit_code == 0, benched.output
    rows = {row["target"]: row for row in json.loads(results.read_text())["results"]}
    for name in ("tflite-int8", "openvino-int8", "ort-int8"):
        assert rows[name]["status"] == "ok" and rows[name]["drop"]["map50_95"] < 0.02
