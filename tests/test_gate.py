"""edgekit gate: thresholds, latency as a ratio to a reference benched in the same run, unusable input."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.report.confirm import run_gate as run_gate_documents
from edgekit.report.gate import Thresholds, load_thresholds
from edgekit.report.gate import compare as compare_documents
from edgekit.results import RESULTS_SCHEMA, ResultsDocument, load_results
from gate_documents import BASE
from typer.testing import CliRunner

runner = CliRunner()


def compare(baseline: dict, current: dict, thresholds: Thresholds):
    """The gate's checks of two documents given in their JSON form (the fixtures edit that form)."""
    return compare_documents(ResultsDocument.from_dict(baseline), ResultsDocument.from_dict(current), thresholds)


def run_gate(baseline: dict, current: dict, thresholds: Thresholds):
    return run_gate_documents(ResultsDocument.from_dict(baseline), ResultsDocument.from_dict(current), thresholds)


def _failed(checks) -> set[tuple[str, str]]:
    return {(c.artifact, c.metric) for c in checks if not c.passed}


def _with_rounds(document: dict) -> dict:
    document = copy.deepcopy(document)
    for row in document["results"]:
        row["latency_ms"]["round_p50"] = [row["latency_ms"]["p50"]]
        row["latency_ms"]["p50_best_round"] = row["latency_ms"]["p50"]
    return document


def test_the_fastest_interleaved_round_is_compared_when_the_bench_recorded_rounds():
    base, current = _with_rounds(BASE), _with_rounds(BASE)
    int8 = current["results"][1]["latency_ms"]
    int8["p50"] = 9.0  # a slow spell landed on ort-int8's rounds more than on the reference's ...
    int8["round_p50"], int8["p50_best_round"] = [5.1, 12.0, 9.0], 5.1  # ... but its best round is unchanged
    assert not _failed(compare(base, current, Thresholds()))
    assert _failed(compare(BASE, current, Thresholds())) == {("ort-int8", "p50 / onnx-fp32")}  # no rounds: p50
    int8["round_p50"], int8["p50_best_round"] = [8.9, 9.0, 9.2], 8.9  # every round slower: a real regression
    assert _failed(compare(base, current, Thresholds())) == {("ort-int8", "p50 / onnx-fp32")}


def test_same_numbers_pass_and_a_uniformly_slower_machine_passes_too():
    assert not _failed(compare(BASE, BASE, Thresholds()))
    slower = copy.deepcopy(BASE)
    slower["environment"]["machine_probe_ms"]["p50"] *= 2.5  # a slower machine: its probe too
    for row in slower["results"]:
        row["latency_ms"]["p50"] *= 2.5  # every artifact, reference included
    assert not _failed(compare(BASE, slower, Thresholds()))
    assert _failed(compare(BASE, slower, Thresholds(absolute_latency=True))) == {
        ("onnx-fp32", "p50 ms"),
        ("ort-int8", "p50 ms"),
    }


def test_each_kind_of_regression_fails_its_own_check():
    current = copy.deepcopy(BASE)
    int8 = current["results"][1]
    int8["latency_ms"]["p50"], int8["size_bytes"], int8["metrics"]["map50_95"] = 8.0, 4_800_000, 0.700
    assert _failed(compare(BASE, current, Thresholds())) == {
        ("ort-int8", "size"),
        ("ort-int8", "p50 / onnx-fp32"),
        ("ort-int8", "map50_95"),
    }
    passed, verdict = run_gate(BASE, current, Thresholds())
    assert not passed and "**FAIL**" in verdict and "+60.00 %" in verdict and "7.70 pts" in verdict


def test_thresholds_come_from_a_file_then_the_command_line(tmp_path):
    config = tmp_path / "gate.toml"
    config.write_text("max_latency_growth = 50\nreference = 'onnx-fp32'\n[targets.ort-int8]\nmax_size_growth = 400\n")
    thresholds = load_thresholds(config, max_accuracy_drop=10.0)
    assert thresholds.max_latency_growth == 50 and thresholds.max_accuracy_drop == 10.0
    assert thresholds.for_target("ort-int8").max_size_growth == 400
    assert thresholds.for_target("onnx-fp32").max_size_growth == 5.0
    config.write_text("max_latncy_growth = 50\n")
    with pytest.raises(EdgekitError, match="unknown key"):
        load_thresholds(config)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["results"].pop(), "lacks baseline row"),
        (lambda d: d.update(schema=RESULTS_SCHEMA + 1), "schema"),
        (lambda d: d["results"][1].update(dataset={"name": "coco/val", "images": 5000}), "different data"),
        (lambda d: d["results"][1].update(status="bench failed: boom"), "failed rows"),
    ],
)
def test_unusable_input_is_exit_2_not_a_pass(tmp_path, change, message):
    current = copy.deepcopy(BASE)
    change(current)
    paths = []
    for name, document in (("base.json", BASE), ("cur.json", current)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document))
    result = runner.invoke(app, ["gate", "--baseline", str(paths[0]), "--current", str(paths[1])])
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1, result.output


def test_cli_exit_codes_and_markdown_file(tmp_path):
    base, cur, verdict = tmp_path / "base.json", tmp_path / "cur.json", tmp_path / "verdict.md"
    base.write_text(json.dumps(BASE))
    cur.write_text(json.dumps(BASE))
    result = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(cur), "--markdown", str(verdict)])
    assert result.exit_code == 0 and "edgekit gate: pass" in verdict.read_text()
    worse = copy.deepcopy(BASE)
    worse["results"][1]["metrics"]["map50_95"] = 0.76
    cur.write_text(json.dumps(worse))
    result = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(cur)])
    assert result.exit_code == 1 and "regression" in result.output
    result = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(cur), "--max-accuracy-drop", "2"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(cur), "--reference", "tflite-fp32"])
    assert result.exit_code == 2 and "latency reference 'tflite-fp32'" in result.output


def test_committed_baseline_is_a_valid_results_document():
    baseline = load_results(Path(__file__).parent.parent / "benchmarks" / "baseline.json")
    targets = {row.target for row in baseline.rows}
    assert {"onnx-fp32", "ort-int8", "openvino-int8"} <= targets
    assert all(row.ok and row.latency.p50_best_round for row in baseline.rows)
    assert all(row.instructions_per_inference for row in baseline.rows)  # CI's hosted runner: the count lane
    assert ResultsDocument.from_dict(baseline.to_dict()) == baseline  # lossless round trip
