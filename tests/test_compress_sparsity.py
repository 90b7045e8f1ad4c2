"""Sparsity regularization before pruning (``--sparsity-epochs``): Torch-Pruning's GroupNormPruner pushes weak
channel groups towards zero during training, then magnitude pruning removes them; on the built-in models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from edgekit.cli import app
from edgekit.compress.pruning import PruneOptions, output_layers, sparsity_regularizer
from edgekit.convert.sources import load_source
from torch import nn
from typer.testing import CliRunner

runner = CliRunner()


def _channel_norms(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: m.weight.detach().flatten(1).norm(dim=1).clone()
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and m.groups == 1
    }


def test_the_regularizer_shrinks_weak_channels_most_and_leaves_kept_layers_alone() -> None:
    source = load_source("nano-cls")
    model, size = source.module, source.card.preprocessing.size
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    regularize = sparsity_regularizer(model, x, PruneOptions(0.5, sparsity_reg=1e-2))
    kept = {id(m) for m in output_layers(model, x)}
    names = {name for name, m in model.named_modules() if id(m) in kept}
    before = _channel_norms(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(20):  # the regularizer's gradient alone: no task loss
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        regularize(model)
        optimizer.step()
    after = _channel_norms(model)
    shrunk = [name for name in before if (after[name] < before[name] - 1e-6).any()]
    assert len(shrunk) >= 3, shrunk
    assert not names & set(shrunk)  # the output layer is never pushed
    weak_kept, strong_kept = [], []  # gamma grows as a group weakens: weak channels lose the larger share
    for name in shrunk:
        share, order = after[name] / before[name], before[name].argsort()
        weak_kept.append(share[order[: len(order) // 2]].mean())
        strong_kept.append(share[order[len(order) // 2 :]].mean())
        assert share.max() > 2 * share.min(), name  # not a uniform decay of every weight
    assert torch.stack(weak_kept).mean() < torch.stack(strong_kept).mean()


def test_sparsity_epochs_come_out_of_the_recovery_budget_and_are_reported(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = ["compress", "nano-cls", "--prune", "0.5", "--prune-by", "macs", "--recover", "labels"]
    args += ["--epochs", "3", "--sparsity-epochs", "1", "--kd-images", "256", "-o", str(tmp_path / "s.pt")]
    result = runner.invoke(app, [*args, "--json", str(report)])
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    sparse, pruned, recovered = document["steps"]
    assert [sparse["step"], pruned["step"], recovered["step"]] == ["sparsity", "prune", "recover"]
    assert sparse["epochs"] == 1 and sparse["sparsity_reg"] == pytest.approx(5e-4)
    assert len(sparse["epoch_seconds"]) == 1 and len(recovered["epoch_seconds"]) == 2  # 3 epochs in all
    assert sparse["macs"] == document["before"]["macs"] and pruned["macs"] <= 0.5 * document["before"]["macs"]
    assert document["recovery_seconds"] == pytest.approx(sparse["seconds"] + recovered["seconds"])
    assert pruned["sparsity_epochs"] == 1  # the plan the prune step applied says so


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--recover", "labels", "--epochs", "2", "--sparsity-epochs", "2"], "must leave at least --steps (1)"),
        (["--sparsity-epochs", "1"], "--sparsity-epochs trains before pruning: it needs recovery"),
        (["--recover", "labels", "--sparsity-epochs", "1", "--sparsity-reg", "0"], "--sparsity-reg > 0"),
    ],
)
def test_a_sparsity_budget_that_cannot_work_is_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(app, ["compress", "nano-cls", "--prune", "0.5", *extra, "-o", str(tmp_path / "o.pt")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output, result.output
    assert not (tmp_path / "o.pt").exists()
