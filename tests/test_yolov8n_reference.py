"""The committed real YOLOv8n (Ultralytics architecture, trained on shapes-det by benchmarks/yolov8n/train.py)
goes through edgekit like a user's ``yolo export format=onnx`` file: task, classes and size from its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.manifest import Artifact
from typer.testing import CliRunner

MODEL = Path(__file__).parent.parent / "benchmarks" / "models" / "yolov8n-shapes.onnx"


@pytest.mark.slow
def test_the_committed_yolov8n_exports_and_scores_as_trained(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["export", str(MODEL), "-t", "onnx-fp32", "-o", str(tmp_path / "out"), "--data", "shapes-det"]
    )
    assert result.exit_code == 0, result.output
    manifest = Artifact.load(tmp_path / "out" / "onnx-fp32").manifest
    assert manifest.task == "detect" and manifest.preprocessing.size == 256
    assert manifest.class_names == ["circle", "rectangle", "triangle", "cross", "ring"]  # from ONNX metadata
    assert manifest.outputs[0].shape == [1, 9, 1344]  # Ultralytics' convention: [1, 4 + nc, anchors]
    result = runner.invoke(
        app,
        [
            "bench",
            str(tmp_path / "out" / "onnx-fp32"),
            "--json",
            str(tmp_path / "r.json"),
            "--runs",
            "3",
            "--warmup",
            "1",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert row["metrics"]["map50_95"] >= 0.50 and row["evaluation"]["preset"] == "manifest"


@pytest.mark.slow
def test_the_ultralytics_preset_scores_within_a_third_of_a_point_of_yolo_val(tmp_path):
    """``yolo val`` of the same ONNX on the same images (benchmarks/yolov8n/yolo_val.json, made by
    benchmarks/yolov8n/yolo_val.py in Ultralytics' venv) against ``edgekit bench --preset ultralytics``."""
    reference = json.loads((MODEL.parent.parent / "yolov8n" / "yolo_val.json").read_text())
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["export", str(MODEL), "-t", "onnx-fp32", "-o", str(tmp_path / "out"), "--data", "shapes-det"]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        app,
        [
            "bench",
            str(tmp_path / "out" / "onnx-fp32"),
            "--json",
            str(tmp_path / "r.json"),
            "--preset",
            "ultralytics",
            "--runs",
            "3",
            "--warmup",
            "1",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert row["evaluation"]["preset"] == "ultralytics" and row["evaluation"]["multi_label"]
    assert abs(row["metrics"]["map50_95"] - reference["map50_95"]) <= 0.003, (row["metrics"], reference)
