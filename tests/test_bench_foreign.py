"""Bench anything: model files and export folders that edgekit did not write are measured by the same harness,
in the same interleaved run, and score exactly what the same model scores as an edgekit artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.convert.run import export_model
from typer.testing import CliRunner

runner = CliRunner()
FAST = ["--runs", "2", "--warmup", "1", "--min-seconds", "0", "--rounds", "1"]


def _bench(paths: list[Path], out: Path, *extra: str) -> list[dict]:
    result = runner.invoke(app, ["bench", *map(str, paths), "--json", str(out), *FAST, *extra])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())["results"]


def test_a_foreign_onnx_and_openvino_folder_score_like_the_artifacts_they_came_from(artifacts, tmp_path):
    """The nano-det ONNX and OpenVINO IR as bare files (no manifest; task and size read from the model)
    score the same mAP as the edgekit artifacts holding them, benched in one run."""
    rows = export_model("nano-det", ["openvino-fp32"], tmp_path / "art")
    assert rows[0].status == "ok"
    shutil.copyfile(artifacts["nano-det"] / "model.onnx", tmp_path / "someone-elses.onnx")
    folder = tmp_path / "nano_openvino_model"  # laid out like an Ultralytics export folder
    folder.mkdir()
    for name in ("model.xml", "model.bin"):
        shutil.copyfile(tmp_path / "art" / "openvino-fp32" / name, folder / name)
    results = _bench(
        [artifacts["nano-det"], tmp_path / "someone-elses.onnx", tmp_path / "art" / "openvino-fp32", folder],
        tmp_path / "r.json",
        "--data",
        "shapes-det",
    )
    by_target = {row["target"]: row for row in results}
    assert set(by_target) == {"onnx-fp32", "someone-elses.onnx", "openvino-fp32", "nano_openvino_model"}
    assert all(row["status"] == "ok" and "p50_best_round" in row["latency_ms"] for row in results)
    assert by_target["someone-elses.onnx"]["metrics"] == by_target["onnx-fp32"]["metrics"]
    assert by_target["nano_openvino_model"]["metrics"] == by_target["openvino-fp32"]["metrics"]
    assert by_target["nano_openvino_model"]["runtime"] == "openvino"
    assert by_target["someone-elses.onnx"]["size_bytes"] == (tmp_path / "someone-elses.onnx").stat().st_size
    bin_and_xml = sum((folder / name).stat().st_size for name in ("model.xml", "model.bin"))
    assert by_target["nano_openvino_model"]["size_bytes"] == bin_and_xml


def _non_image_onnx(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every onnxruntime reads
    onnx.save(model, str(path))


def test_foreign_models_that_cannot_be_benched_are_one_line(artifacts, tmp_path):
    _non_image_onnx(tmp_path / "tabular.onnx")
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.onnx", "b.onnx"):
        shutil.copyfile(artifacts["nano-det"] / "model.onnx", two / name)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copyfile(tmp_path / "tabular.onnx", lonely / "m.xml")  # an .xml without its .bin
    cases = [
        ([str(tmp_path / "tabular.onnx"), "--data", "shapes-det"], "benches image models"),
        ([str(two), "--data", "shapes-det"], "several .onnx models"),
        ([str(artifacts["nano-det"] / "model.onnx")], "pass --data"),
        ([str(lonely / "m.xml"), "--data", "shapes-det"], "needs m.bin"),
        ([str(artifacts["nano-det"] / "model.onnx"), "--data", "shapes-det", "--task", "segment"], "unknown task"),
    ]
    for args, needle in cases:
        result = runner.invoke(app, ["bench", *args, "--json", str(tmp_path / "r.json")])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and needle in lines[0], (args, result.output)
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_a_foreign_tflite_scores_like_its_artifact(tmp_path):
    """NHWC input and the file's own output layout, read from the interpreter."""
    assert export_model("nano-det", ["tflite-fp32"], tmp_path / "art", calib_images=16)[0].status == "ok"
    shutil.copyfile(tmp_path / "art" / "tflite-fp32" / "model.tflite", tmp_path / "other.tflite")
    results = _bench(
        [tmp_path / "art" / "tflite-fp32", tmp_path / "other.tflite"], tmp_path / "r.json", "--data", "shapes-det"
    )
    assert results[1]["runtime"] == "tflite" and results[1]["metrics"] == results[0]["metrics"]
