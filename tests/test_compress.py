"""edgekit compress: prunable rewrite, structured/unstructured pruning, distillation, the CLI contract."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.compress.prunable import make_prunable
from edgekit.compress.pruning import PruneOptions, output_layers, prune_structured, prune_unstructured, sparsity
from edgekit.compress.stats import model_stats
from edgekit.sources import load_source

runner = CliRunner()


def _model(name: str) -> tuple[nn.Module, torch.Tensor]:
    source = load_source(name)
    size = source.preprocessing.size
    return source.module, torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))


def test_prunable_rewrite_keeps_the_detector_outputs():
    model, x = _model("nano-det")
    with torch.no_grad():
        want = model(x)
        got = make_prunable(model)(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4)


def test_output_layers_are_the_heads_final_layers():
    model, x = _model("nano-det")
    names = {id(m): n for n, m in model.named_modules()}
    found = {names[id(m)] for m in output_layers(model, x)}
    assert found == {f"head.{kind}.{level}.2" for kind in ("box", "cls") for level in range(3)} | {"head.dfl.conv"}


@pytest.mark.parametrize("by", ["macs", "channels"])
def test_structured_pruning_cuts_macs_and_keeps_the_output_shape(by):
    model, x = _model("nano-cls")
    before, want_shape = model_stats(model, x), model(x).shape
    prune_structured(model, x, PruneOptions(0.5, by=by))
    after = model_stats(model, x)
    assert after["macs"] < (0.55 if by == "macs" else 0.8) * before["macs"]
    assert model(x).shape == want_shape
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 1 and m.out_channels > 8]
    assert all(m.out_channels % 8 == 0 for m in convs)  # round_to


def test_unstructured_pruning_zeroes_weights_but_keeps_shapes():
    model, x = _model("nano-cls")
    before = model_stats(model, x)
    prune_unstructured(model, 0.5)
    assert sparsity(model) == pytest.approx(0.5, abs=0.02)
    assert model_stats(model, x) == before


def test_bad_ratios_and_non_module_sources_are_one_line_errors(artifacts, tmp_path):
    for args in (["--prune", "1.5"], ["--unstructured", "0"], ["--prune", "0.5", "--prune-by", "flops"]):
        result = runner.invoke(app, ["compress", "nano-cls", "-o", str(tmp_path / "m.pt"), *args])
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    result = runner.invoke(app, ["compress", str(artifacts["nano-cls"] / "model.onnx"), "-o",
                                 str(tmp_path / "m.pt"), "--prune", "0.5"])
    assert result.exit_code == 2 and "needs a PyTorch nn.Module" in result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_compress_cli_writes_a_report_and_a_model_export_accepts(tmp_path):
    out, report = tmp_path / "small.pt", tmp_path / "report.json"
    result = runner.invoke(app, ["compress", "nano-cls", "--prune", "0.5", "--prune-by", "macs", "--distill",
                                 "--epochs", "2", "-o", str(out), "--json", str(report)])
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["schema"] == 1 and [s["step"] for s in document["steps"]] == ["prune", "distill"]
    for side in ("before", "after"):
        assert {"params", "macs", "size_bytes", "metrics"} <= set(document[side])
    assert document["after"]["macs"] <= 0.5 * document["before"]["macs"]
    result = runner.invoke(app, ["export", str(out), "-t", "onnx-fp32", "-o", str(tmp_path / "art")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "art" / "onnx-fp32" / "edgekit.json").read_text())
    assert manifest["task"] == "classify" and manifest["preprocessing"]["size"] == 64
