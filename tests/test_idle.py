"""Idle detector outputs: found from the model's own scores on images, thinned first, the rest pruned as usual."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from edgekit.cli import app
from edgekit.compress.distill import normalised_batch
from edgekit.compress.idle import idle_layers
from edgekit.compress.images import probe_images
from edgekit.compress.prunable import make_prunable
from edgekit.compress.pruning import PruneOptions, prune_structured
from edgekit.compress.stats import model_stats
from edgekit.convert.sources import load_source
from torch import nn
from typer.testing import CliRunner

runner = CliRunner()


def _reference_detector() -> tuple[nn.Module, torch.Tensor]:
    """nano-det in its prunable form and 32 images of its built-in training stream, normalised."""
    source = load_source("nano-det")
    canvases = probe_images(source.card.preprocessing, 32, "shapes-det")
    batch = normalised_batch(
        canvases, np.arange(32), np.zeros(32, bool), source.card.preprocessing, torch.device("cpu")
    )
    return make_prunable(copy.deepcopy(source.module)).eval(), batch


def test_reference_detector_scores_only_on_its_stride_8_level():
    model, images = _reference_detector()
    idle = idle_layers(model, images, num_classes=5)
    assert set(idle.outputs) == {f"head.{kind}.{level}.2" for kind in ("box", "cls") for level in (1, 2)}
    assert (
        idle.peak_scores["head.cls.0.2"]
        > 0.9
        > 0.05
        > max(idle.peak_scores["head.cls.1.2"], idle.peak_scores["head.cls.2.2"])
    )
    names = set(idle.layer_names)
    # the bottom-up path feeds only the idle levels; the top-down path and the backbone feed level 0 too
    assert {"neck.down3.conv", "neck.bu5.cv2.conv", "head.box.1.0.conv", "head.cls.2.1.conv"} <= names
    assert not any(n.startswith(("backbone.", "neck.td", "head.box.0", "head.cls.0")) for n in names)


def test_idle_branches_are_thinned_and_the_budget_goes_to_the_working_layers():
    model, images = _reference_detector()
    x = images[:1]
    base, shape = model_stats(model, x)["macs"], model(x).shape
    uniform = prune_structured(copy.deepcopy(model), x, PruneOptions(0.5, by="macs"))
    idle = idle_layers(model, images, num_classes=5)
    prune_structured(model, x, PruneOptions(0.5, by="macs"), idle.layers)
    assert model(x).shape == shape
    assert model_stats(model, x)["macs"] <= 0.5 * base
    assert all(m.out_channels == 8 for m in idle.layers)  # round_to
    widths = {n: m.out_channels for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    uniform_widths = {n: m.out_channels for n, m in uniform.named_modules() if isinstance(m, nn.Conv2d)}
    assert widths["head.box.0.0.conv"] > uniform_widths["head.box.0.0.conv"]
    assert widths["backbone.p4.0.conv"] > uniform_widths["backbone.p4.0.conv"]


class TwoLevelDetector(nn.Module):
    """Two levels of [4 box + 2 class] maps; the ``quiet`` levels' class logits are pushed far below zero."""

    def __init__(self, quiet: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU())
        self.branch = nn.ModuleList(nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1), nn.ReLU()) for _ in range(2))
        self.box = nn.ModuleList(nn.Conv2d(16, 4, 1) for _ in range(2))
        self.cls = nn.ModuleList(nn.Conv2d(16, 2, 1) for _ in range(2))
        for level in quiet:
            nn.init.constant_(self.cls[level].bias, -30.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(x)]
        feats.append(self.down(feats[0]))
        maps = [
            torch.cat([self.box[i](self.branch[i](f)), self.cls[i](self.branch[i](f))], 1).flatten(2)
            for i, f in enumerate(feats)
        ]
        return torch.cat(maps, 2)


def test_a_quiet_level_is_idle_but_all_levels_scoring_or_none_scoring_thins_nothing():
    torch.manual_seed(0)
    images = torch.randn(8, 3, 32, 32)
    quiet = idle_layers(TwoLevelDetector(quiet=(1,)).eval(), images, num_classes=2)
    assert set(quiet.outputs) == {"box.1", "cls.1"}
    assert set(quiet.layer_names) == {"down.0", "branch.1.0"}
    for levels in ((), (0, 1)):  # every level scores / nothing scores (images unlike the model's data)
        found = idle_layers(TwoLevelDetector(quiet=levels).eval(), images, num_classes=2)
        assert found.layers == [] and found.outputs == [] and len(found.peak_scores) == 2


@pytest.mark.slow
def test_compress_reports_idle_outputs_and_keep_idle_turns_thinning_off(tmp_path):
    reports = {}
    for flag in ([], ["--keep-idle"]):
        report = tmp_path / f"report{len(flag)}.json"
        result = runner.invoke(
            app,
            [
                "compress",
                "nano-det",
                "--prune",
                "0.5",
                "--prune-by",
                "macs",
                *flag,
                "-o",
                str(tmp_path / f"m{len(flag)}.pt"),
                "--json",
                str(report),
            ],
        )
        assert result.exit_code == 0, result.output
        reports[bool(flag)] = json.loads(report.read_text())["steps"][0]
    thinned, kept = reports[False], reports[True]
    assert thinned["thin_idle"] and not kept["thin_idle"] and "idle_outputs" not in kept
    assert set(thinned["idle_outputs"]) == {f"head.{k}.{level}.2" for k in ("box", "cls") for level in (1, 2)}
    assert thinned["idle_layers"] == 20 and thinned["idle_score"] == 0.05
    assert thinned["params"] < kept["params"]  # the budget went to layers that work; idle ones hold almost none
