"""One option schema for compress: the CLI, recipes and the library share dataclasses, defaults and keys."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.compress.options import KD_IMAGES, PLAN_KEYS, DistillOptions, PruneOptions, plan_from_options
from edgekit.errors import EdgekitError
from edgekit.pipeline import _COMPRESS_KEYS, compress_plan
from typer.main import get_command


def test_the_cli_shows_the_library_defaults() -> None:
    params = {p.name: p.default for p in get_command(app).commands["compress"].params}
    prune, distill = PruneOptions(0.5), DistillOptions()
    assert (params["prune_by"], params["importance"], params["round_to"], params["steps"]) == (
        prune.by,
        prune.importance,
        prune.round_to,
        prune.steps,
    )
    assert (params["epochs"], params["lr"], params["device"], params["kd_images"]) == (
        distill.epochs,
        distill.lr,
        distill.device,
        KD_IMAGES,
    )
    assert distill.lr == 2e-3  # the value the CLI and recipes used before the library shared it


def test_recipes_and_the_cli_build_the_same_plan() -> None:
    assert set(PLAN_KEYS) == _COMPRESS_KEYS
    options = {"prune": 0.5, "prune_by": "macs", "distill": True, "epochs": 3, "images": "imgs"}
    plan = compress_plan(options)
    assert plan == plan_from_options(options)
    assert plan.prune == PruneOptions(0.5, "macs") and plan.distill == DistillOptions(epochs=3)
    assert plan.images == Path("imgs") and plan.kd_images == KD_IMAGES


def test_unknown_options_are_refused_and_the_schema_stays_torch_free() -> None:
    with pytest.raises(EdgekitError, match="unknown compress option.*lerning_rate"):
        plan_from_options({"lerning_rate": 1})
    assert "edgekit.compress.options" in sys.modules
    import subprocess

    code = "import sys, edgekit.compress.options, edgekit.cli; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_bench_options_have_one_schema_for_cli_recipes_and_library() -> None:
    from edgekit.bench.options import RECIPE_KEYS, BenchOptions, physical_cores
    from edgekit.pipeline import _BENCH_KEYS

    params = {p.name: p.default for p in get_command(app).commands["bench"].params}
    defaults = BenchOptions()
    assert {k: params[k] for k in ("runs", "warmup", "min_seconds", "rounds")} == {
        k: getattr(defaults, k) for k in ("runs", "warmup", "min_seconds", "rounds")
    }
    assert params["threads"] is None and defaults.threads == physical_cores()  # None: the library's default
    assert _BENCH_KEYS == set(RECIPE_KEYS) == {"threads", "runs", "warmup", "min_seconds", "rounds", "preset", "count"}
    with pytest.raises(EdgekitError, match="bench option runs must be an integer >= 1"):
        BenchOptions(runs=0).validate()
