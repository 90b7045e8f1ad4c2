"""``edgekit program``: a model saved as a torch.export program with its card, read back by ``edgekit export``."""

from __future__ import annotations

import torch
from edgekit.cli import app
from edgekit.convert.sources import load_source
from typer.testing import CliRunner

runner = CliRunner()


def test_a_saved_program_computes_what_the_model_does_and_keeps_its_card(tmp_path):
    out = tmp_path / "nano-det.pt2"
    result = runner.invoke(app, ["program", "nano-det", "-o", str(out)])
    assert result.exit_code == 0, result.output
    original, saved = load_source("nano-det"), load_source(str(out), trust=True)
    assert saved.card.task == original.card.task == "detect"
    assert saved.card.preprocessing == original.card.preprocessing
    image = torch.rand(1, 3, original.card.preprocessing.size, original.card.preprocessing.size)
    with torch.no_grad():
        expected, got = original.module(image), saved.module(image)
    assert torch.allclose(expected, got, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["nano-det.pt2"]  # no temporary left beside it


def test_bad_requests_are_one_line_and_write_nothing(tmp_path, artifacts):
    existing = tmp_path / "taken.pt2"
    existing.write_bytes(b"mine")
    cases = [
        (["nano-det", "-o", str(existing)], "already exists; pass --force"),
        (["nano-det", "-o", str(tmp_path / "model.onnx")], "is written to a .pt2 file"),
        ([str(artifacts["nano-det"] / "model.onnx"), "-o", str(tmp_path / "x.pt2")], "is an ONNX model"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["program", *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and result.output.strip().count("\n") == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.pt2"] and existing.read_bytes() == b"mine"
