"""``edgekit compress --act relu``: smooth activations become ReLU, then recovery trains the rewritten network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from edgekit.cli import app
from edgekit.compress.rewrite import replace_activations
from edgekit.convert.sources import load_source
from edgekit.errors import EdgekitError
from torch import nn
from typer.testing import CliRunner

runner = CliRunner()


def test_every_silu_of_nano_det_becomes_relu_and_a_model_without_modules_to_swap_is_an_error() -> None:
    model = load_source("nano-det").module
    silus = sum(isinstance(m, nn.SiLU) for m in model.modules())
    assert silus > 10
    assert replace_activations(model, "relu") == silus
    assert not any(isinstance(m, nn.SiLU) for m in model.modules())
    model(torch.zeros(1, 3, 256, 256))  # still runs
    with pytest.raises(EdgekitError, match="no activation modules"):
        replace_activations(nn.Sequential(nn.Linear(4, 4)), "relu")


@pytest.mark.slow
def test_compress_act_relu_records_the_rewrite_and_writes_a_relu_network(tmp_path: Path) -> None:
    report, out = tmp_path / "r.json", tmp_path / "s.pt"
    result = runner.invoke(
        app,
        [
            "compress",
            "nano-det",
            "--act",
            "relu",
            "--recover",
            "labels",
            "--epochs",
            "1",
            "--kd-images",
            "128",
            "-o",
            str(out),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    rewrite, recovered = json.loads(report.read_text())["steps"]
    assert rewrite["step"] == "rewrite" and rewrite["act"] == "relu" and rewrite["replaced"] > 10
    assert recovered["recovered_with"] == "labels" and "map50_95" in recovered["metrics"]
    graph = str(torch.jit.load(str(out)).inlined_graph)
    assert "aten::relu" in graph and "aten::silu" not in graph


@pytest.mark.parametrize(
    "args, message",
    [
        (["--act", "relu"], "needs recovery"),
        (["--act", "gelu", "--recover", "labels"], "--act must be one of relu"),
        (["--act", "relu", "--recover", "labels"], "no activation modules to replace"),  # nano-cls is ReLU6 already
    ],
)
def test_bad_act_options_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["compress", "nano-cls", *args, "-o", str(tmp_path / "o.pt")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output, result.output
    assert not (tmp_path / "o.pt").exists()
