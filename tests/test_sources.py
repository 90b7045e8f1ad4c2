"""Model sources: an existing ONNX file (export skipped, names from metadata_props) and row-wise bench failures."""

from __future__ import annotations

import json

import onnx
from edgekit.cli import app
from edgekit.convert.sources import load_source
from edgekit.manifest import Artifact
from typer.testing import CliRunner

runner = CliRunner()


def _with_ultralytics_metadata(src, dst):
    model = onnx.load(str(src))
    names = "{0: 'circle', 1: 'rectangle', 2: 'triangle', 3: 'cross', 4: 'ring'}"
    for key, value in (("names", names), ("imgsz", "[256, 256]"), ("task", "detect")):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(dst))


def test_onnx_source_reads_ultralytics_metadata(artifacts, tmp_path):
    path = tmp_path / "user_yolo.onnx"
    _with_ultralytics_metadata(artifacts["nano-det"] / "model.onnx", path)
    source = load_source(str(path))
    assert source.card.task == "detect" and source.card.preprocessing.size == 256 and source.module is None
    assert source.card.class_names == ["circle", "rectangle", "triangle", "cross", "ring"]
    result = runner.invoke(
        app, ["export", str(path), "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--data", "shapes-det"]
    )
    assert result.exit_code == 0, result.output
    manifest = Artifact.load(tmp_path / "o" / "onnx-fp32").manifest
    assert manifest.parity is None and manifest.class_names[-1] == "ring"


def test_one_failing_artifact_does_not_stop_the_others(artifacts, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "bench",
            str(artifacts["nano-det"]),
            str(artifacts["nano-cls"]),
            "--data",
            "shapes-cls",
            "--json",
            str(out),
            "--runs",
            "2",
            "--min-seconds",
            "0",
        ],
    )
    assert result.exit_code == 1, result.output
    rows = {r["target"] + r["artifact"]: r for r in json.loads(out.read_text())["results"]}
    statuses = sorted(r["status"].split(":")[0] for r in rows.values())
    assert statuses == ["bench failed", "ok"]


def test_torch_export_pt2_source_exports_with_parity(tmp_path):
    """A ``torch.export`` program (which refuses train()/eval()) goes through ONNX export like any module."""
    import torch

    module = load_source("nano-cls").module
    torch.export.save(torch.export.export(module, (torch.zeros(1, 3, 64, 64),)), str(tmp_path / "cls.pt2"))
    args = [
        "export",
        str(tmp_path / "cls.pt2"),
        "--task",
        "classify",
        "--imgsz",
        "64",
        "--data",
        "shapes-cls",
        "-t",
        "onnx-fp32",
        "-o",
        str(tmp_path / "out"),
    ]
    refused = runner.invoke(app, args)  # loading a .pt2 runs code from the file: only with the trust flag
    assert refused.exit_code == 2 and "--trust" in refused.output and not (tmp_path / "out").exists()
    result = runner.invoke(app, args + ["--trust"])
    assert result.exit_code == 0, result.output
    parity = Artifact.load(tmp_path / "out" / "onnx-fp32").manifest.parity
    assert parity["cosine"] > 0.9999


def test_a_reference_model_takes_the_users_imgsz():
    """--imgsz on a built-in model was ignored: the artifact came out at 256 px whatever was asked."""
    assert load_source("nano-det").card.preprocessing.size == 256
    assert load_source("nano-det", imgsz=192).card.preprocessing.size == 192
