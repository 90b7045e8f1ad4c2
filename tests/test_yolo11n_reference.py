"""The committed real YOLO11n (trained like the YOLOv8n: benchmarks/yolov8n/train.py --arch yolo11n) reaches
every target, TFLite included: onnx2tf leaves a variable of its attention untracked by Keras, which once made the
TFLite converter write a model without a SignatureDef ('model has 0 Signatures')."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgekit.cli import app
from typer.testing import CliRunner

MODEL = Path(__file__).parent.parent / "benchmarks" / "models" / "yolo11n-shapes.onnx"


@pytest.mark.slow
def test_the_committed_yolo11n_exports_to_tflite_and_scores_like_its_onnx(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            str(MODEL),
            "-t",
            "onnx-fp32",
            "-t",
            "tflite-fp32",
            "-t",
            "tflite-int8",
            "-o",
            str(out),
            "--data",
            "shapes-det",
            "--calib-images",
            "32",
        ],
    )
    assert result.exit_code == 0, result.output
    results = tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "bench",
            *(str(out / t) for t in ("onnx-fp32", "tflite-fp32", "tflite-int8")),
            "--json",
            str(results),
            "--runs",
            "2",
            "--warmup",
            "1",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = {row["target"]: row for row in json.loads(results.read_text())["results"]}
    assert rows["onnx-fp32"]["metrics"]["map50_95"] >= 0.50
    assert abs(rows["tflite-fp32"]["drop"]["map50_95"]) <= 0.002  # the same network, in LiteRT
    assert rows["tflite-int8"]["drop"]["map50_95"] <= 0.02
