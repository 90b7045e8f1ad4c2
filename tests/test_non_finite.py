"""A model whose outputs hold NaN or infinity gets a failed row, never a plausible score (issue 22, item 1).

Before the fix, nano-det / YOLOv8n with every box multiplied by NaN scored a believable mAP: one NaN box made
the NMS class offset NaN, so one box per image survived, and pycocotools counted a NaN IoU as a match.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
from edgekit.cli import app
from edgekit.tasks.detection import DetectionDecoding, decode_detections
from onnx import helper, numpy_helper
from typer.testing import CliRunner

runner = CliRunner()
FAST = ["--runs", "2", "--warmup", "1", "--min-seconds", "0", "--rounds", "1"]


def _scaled_output(source: Path, target: Path, factors: np.ndarray) -> None:
    """``source`` ONNX with its one output multiplied by ``factors`` (broadcast over ``[1, C, N]``)."""
    model = onnx.load(str(source))
    graph = model.graph
    name = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{name}_raw" if out == name else out for out in node.output]
    graph.initializer.append(numpy_helper.from_array(factors.astype(np.float32), "nan_factors"))
    graph.node.append(helper.make_node("Mul", [f"{name}_raw", "nan_factors"], [name]))
    onnx.save(model, str(target))


def _bench_rows(paths: list[Path], out: Path, data: str) -> tuple[int, list[dict]]:
    result = runner.invoke(app, ["bench", *map(str, paths), "--data", data, "--json", str(out), *FAST])
    return result.exit_code, json.loads(out.read_text())["results"]


def test_nan_boxes_and_nan_logits_fail_their_rows_and_the_gate_refuses_them(artifacts, tmp_path):
    det = artifacts["nano-det"] / "model.onnx"
    channels = onnx.load(str(det)).graph.output[0].type.tensor_type.shape.dim[1].dim_value
    box_nan = np.ones((1, channels, 1))
    box_nan[0, :4] = np.nan
    _scaled_output(det, tmp_path / "nan-boxes.onnx", box_nan)
    _scaled_output(artifacts["nano-cls"] / "model.onnx", tmp_path / "nan-logits.onnx", np.full((1, 1), np.nan))

    _, det_rows = _bench_rows([det, tmp_path / "nan-boxes.onnx"], tmp_path / "det.json", "shapes-det")
    _, cls_rows = _bench_rows([tmp_path / "nan-logits.onnx"], tmp_path / "cls.json", "shapes-cls")
    clean, broken = det_rows
    assert clean["status"] == "ok" and clean["metrics"]["map50_95"] > 0.5
    for row in (broken, cls_rows[0]):
        status = row["status"]
        assert status.startswith("bench failed") and "non-finite" in status, row
        assert re.search(r"on (\d+) of \1 images", status), status  # every image, counted
        assert not row.get("metrics")

    baseline = tmp_path / "base.json"
    _bench_rows([det], baseline, "shapes-det")  # a clean baseline; the current run adds the broken model
    gate = runner.invoke(app, ["gate", "--baseline", str(baseline), "--current", str(tmp_path / "det.json")])
    assert gate.exit_code == 2 and "current run has failed rows" in gate.output, gate.output


def test_nms_ignores_non_finite_candidates_and_keeps_the_finite_ones():
    """Three well-separated boxes of one class, then the same with a fourth whose box is NaN and a fifth whose
    score is +inf: the finite three come out unchanged (the NaN one used to collapse NMS to one box)."""
    boxes = np.array([[20, 20, 10, 10], [60, 60, 10, 10], [100, 100, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    finite = np.concatenate([boxes.T, scores[None]], 0)
    broken = np.concatenate([finite, np.array([[np.nan, 5, 10, 10, 0.95], [140, 140, 10, 10, np.inf]]).T], 1)
    spec = DetectionDecoding()
    expected = decode_detections(finite, spec)
    got = decode_detections(broken.astype(np.float32), spec)
    assert len(expected[0]) == 3
    for want, have in zip(expected, got):
        np.testing.assert_array_equal(want, have)
