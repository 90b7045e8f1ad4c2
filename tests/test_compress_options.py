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
    assert (
        _BENCH_KEYS
        == set(RECIPE_KEYS)
        == {
            "threads",
            "runs",
            "warmup",
            "min_seconds",
            "rounds",
            "preset",
            "count",
            "count_cache",
        }
    )
    with pytest.raises(EdgekitError, match="bench option runs must be an integer >= 1"):
        BenchOptions(runs=0).validate()


def test_each_option_is_declared_once_and_every_surface_derives_from_it() -> None:
    """CompressOptions / BenchOptions declare flag, default, help and choices; the CLI, the API keywords, recipe
    and sweep keys come from them, and no command module spells one of those flags again."""
    import dataclasses
    import inspect

    import edgekit
    from edgekit.bench.options import RECIPE_KEYS, BenchOptions
    from edgekit.compress.options import CompressOptions
    from edgekit.optionspec import option_fields

    commands = get_command(app).commands
    for command, cls in (("compress", CompressOptions), ("bench", BenchOptions)):
        params = {p.name: p for p in commands[command].params}
        for field in option_fields(cls):
            param, meta = params[field.name], field.metadata["edgekit_option"]
            assert param.opts == [meta["flag"] or "--" + field.name.replace("_", "-")]
            assert param.help.startswith(meta["help"]) and all(choice in param.help for choice in meta["choices"])
            expected = None if field.default is dataclasses.MISSING else field.default
            assert param.default == (list(expected) if isinstance(expected, tuple) else expected), field.name
    assert set(inspect.signature(edgekit.compress_model).parameters) == {"model", "out", "data", "force", "plan"} | set(
        PLAN_KEYS
    )
    assert set(inspect.signature(edgekit.benchmark).parameters) == {"artifacts", "json_path"} | {
        f.name for f in option_fields(BenchOptions)
    }
    assert set(RECIPE_KEYS) < {f.name for f in option_fields(BenchOptions)}
    cli_sources = "".join(path.read_text() for path in Path(edgekit.__file__).parent.glob("cli*.py"))
    flags = [f"--{f.name.replace('_', '-')}" for cls in (CompressOptions, BenchOptions) for f in option_fields(cls)]
    flags = [flag for flag in flags if flag not in ("--data", "--task", "--imgsz")]  # export's own, same words
    assert [flag for flag in flags if f'"{flag}"' in cli_sources] == []


def test_an_option_of_the_wrong_type_or_choice_is_one_line_from_every_surface() -> None:
    import edgekit
    from typer.testing import CliRunner

    with pytest.raises(EdgekitError, match=r"^compress option epochs must be an integer, got '3'$"):
        edgekit.compress_model("nano-cls", "never-written.pt", prune=0.5, epochs="3")
    with pytest.raises(EdgekitError, match="bench option rounds must be an integer, got 2.5"):
        edgekit.benchmark([], rounds=2.5)
    with pytest.raises(EdgekitError, match="--prune-by must be channels or macs"):
        plan_from_options({"prune": 0.5, "prune_by": "flops"}).validate()
    result = CliRunner().invoke(app, ["compress", "nano-cls", "-o", "x.pt", "--prune", "0.5", "--recover", "magic"])
    assert result.exit_code == 2 and "--recover must be one of auto, labels, kd" in result.output
    assert not Path("x.pt").exists()
