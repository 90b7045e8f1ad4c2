"""End to end on the reference models: export -> bench; accuracy bars; mAP re-scored by pycocotools."""

from __future__ import annotations

import json

import pytest
from edgekit.bench.options import physical_cores
from edgekit.cli import app
from edgekit.data.resolve import resolve_dataset
from edgekit.fsutil import sha256_file
from edgekit.tasks.detection import coco_map
from typer.testing import CliRunner

runner = CliRunner()


@pytest.mark.slow
def test_detector_bench_json_and_rescoring(artifacts, tmp_path):
    results, predictions = tmp_path / "r.json", tmp_path / "preds.json"
    out = runner.invoke(
        app,
        [
            "bench",
            str(artifacts["nano-det"]),
            "--json",
            str(results),
            "--save-predictions",
            str(predictions),
            "--runs",
            "10",
            "--min-seconds",
            "0",
        ],
    )
    assert out.exit_code == 0, out.output
    document = json.loads(results.read_text())
    assert document["schema"] == 1 and {"cpu", "cores", "python", "runtimes"} <= document["environment"].keys()
    row = document["results"][0]
    assert row["status"] == "ok" and row["target"] == "onnx-fp32" and row["threads"] == physical_cores()
    assert set(row["latency_ms"]) == {
        "p50",
        "p90",
        "p99",
        "mean",
        "std",
        "runs",
        "warmup",
        "round_p50",
        "p50_best_round",
    }  # one artifact is timed in rounds like several
    probe = document["environment"]["machine_probe_ms"]  # the machine's speed, timed in the same rounds
    assert probe["p50"] > 0 and len(probe["round_p50"]) == len(row["latency_ms"]["round_p50"])
    assert row["latency_ms"]["runs"] >= 10 and row["size_bytes"] > 0 and row["peak_rss_bytes"] > 0
    assert 0.50 <= row["metrics"]["map50_95"] < 0.95
    assert row["metrics"]["map50"] >= row["metrics"]["map50_95"]
    # anyone can re-score the saved predictions with pycocotools and get the same numbers
    rescored = coco_map(resolve_dataset("shapes-det").annotations_path, json.loads(predictions.read_text()))
    assert abs(rescored["map50_95"] - row["metrics"]["map50_95"]) < 1e-4
    assert row["dataset"]["annotations"] == str(resolve_dataset("shapes-det").annotations_path)
    assert row["dataset"]["annotations_sha256"] == sha256_file(resolve_dataset("shapes-det").annotations_path)


@pytest.mark.slow
def test_classifier_accuracy(artifacts, tmp_path):
    out = runner.invoke(
        app,
        ["bench", str(artifacts["nano-cls"]), "--json", str(tmp_path / "r.json"), "--runs", "5", "--min-seconds", "0"],
    )
    assert out.exit_code == 0, out.output
    row = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert row["metrics"]["top1"] >= 0.90 and row["metrics"]["top5"] >= row["metrics"]["top1"]


@pytest.mark.slow
def test_drop_is_reported_against_the_parent(artifacts, tmp_path):
    """An INT8 child benched beside its FP32 parent gets drop = parent - child and ratios child / parent."""
    from edgekit.convert.run import export_model

    assert export_model("nano-cls", ["ort-int8"], tmp_path)[0].status == "ok"
    out = runner.invoke(
        app,
        [
            "bench",
            str(artifacts["nano-cls"]),
            str(tmp_path / "ort-int8"),
            "--json",
            str(tmp_path / "r.json"),
            "--runs",
            "3",
            "--min-seconds",
            "0",
        ],
    )
    assert out.exit_code == 0, out.output
    parent, child = json.loads((tmp_path / "r.json").read_text())["results"]
    assert "drop" not in parent and child["parent"] == "onnx-fp32"
    for key in ("top1", "top5"):
        assert child["drop"][key] == pytest.approx(parent["metrics"][key] - child["metrics"][key])
    assert child["ratio"]["size"] == pytest.approx(child["size_bytes"] / parent["size_bytes"])
    assert child["ratio"]["p50"] == pytest.approx(child["latency_ms"]["p50"] / parent["latency_ms"]["p50"])


def test_yolo_layout_scores_like_coco(artifacts, det_dataset_root, tmp_path):
    """The same split read through data.yaml (converted to COCO JSON) scores the same as its COCO JSON."""
    from edgekit.bench.harness import BenchOptions, score_artifact

    quick = BenchOptions(warmup=1, runs=2, min_seconds=0.0)
    coco_row, _ = score_artifact(artifacts["nano-det"], quick)
    yolo_row, _ = score_artifact(
        artifacts["nano-det"], BenchOptions(warmup=1, runs=2, min_seconds=0.0, data=str(det_dataset_root / "data.yaml"))
    )
    assert abs(coco_row.metrics["map50_95"] - yolo_row.metrics["map50_95"]) < 2e-3
