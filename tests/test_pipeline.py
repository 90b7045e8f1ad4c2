"""edgekit pipeline: recipe validation, and compress -> export -> bench against the original in one run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.pipeline import compress_plan, load_recipe
from typer.testing import CliRunner

runner = CliRunner()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_recipe_reads_toml_and_yaml_alike(tmp_path):
    toml = _write(
        tmp_path / "r.toml",
        'model = "nano-cls"\noutput = "run"\n[compress]\nprune = 0.5\n'
        'distill = true\nepochs = 3\n[export]\ntargets = ["ort-int8"]\n',
    )
    yaml = _write(
        tmp_path / "r.yaml",
        "model: nano-cls\noutput: run\ncompress: {prune: 0.5, distill: true, "
        "epochs: 3}\nexport: {targets: [ort-int8]}\n",
    )
    first, second = load_recipe(toml), load_recipe(yaml)
    assert replace(first, path=None) == replace(second, path=None) and first.path == toml
    assert first.output == tmp_path / "run" and first.targets == ("ort-int8",)
    plan = compress_plan(first.compress)
    assert plan.prune.ratio == 0.5 and plan.distill.epochs == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ('model = "nano-cls"\noutput = "run"\n[compress]\nprun = 0.5\n', "unknown key(s) in [compress]: prun"),
        ('output = "run"\n', "'model' is required"),
        ('model = "nano-cls"\noutput = "run"\n[export\n', "does not parse"),
    ],
)
def test_bad_recipes_are_one_line_errors(tmp_path, text, message):
    recipe = _write(tmp_path / "r.toml", text)
    with pytest.raises(EdgekitError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_recipe(recipe)
    result = runner.invoke(app, ["pipeline", str(recipe)])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert message in result.output  # printed as written: "[compress]" is no console markup
    assert not (tmp_path / "run").exists()


def test_force_never_deletes_an_input_inside_the_output_nor_a_folder_not_written_by_edgekit(tmp_path, artifacts):
    """A model (or dataset, or image folder) that lies inside ``output`` is refused before anything runs, and a
    folder with some other ``pipeline.json`` is not taken for a pipeline output (issue 22, item 6)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "pipeline.json").write_text(json.dumps({"schema": 1, "model": "x", "targets": []}))
    model = run / "mine.onnx"
    model.write_bytes((artifacts["nano-cls"] / "model.onnx").read_bytes())
    recipe = _write(tmp_path / "r.toml", 'model = "run/mine.onnx"\ndata = "shapes-cls"\noutput = "run"\n')
    result = runner.invoke(app, ["pipeline", str(recipe), "--force"])
    assert result.exit_code == 2 and "holds" in result.output and str(model) in result.output, result.output
    assert model.is_file()
    other = tmp_path / "other"
    other.mkdir()
    (other / "pipeline.json").write_text('{"name": "some other tool"}')
    recipe = _write(tmp_path / "r2.toml", 'model = "nano-cls"\noutput = "other"\n')
    result = runner.invoke(app, ["pipeline", str(recipe), "--force"])
    assert result.exit_code == 2 and "not an edgekit pipeline summary" in result.output, result.output
    assert (other / "pipeline.json").is_file()


@pytest.mark.slow
def test_unstructured_sparsity_leaves_dense_artifacts_the_same_size(tmp_path):
    recipe = _write(
        tmp_path / "sparse.toml",
        'model = "nano-cls"\ndata = "shapes-cls"\noutput = "run"\n'
        "[compress]\nunstructured = 0.5\n"
        '[export]\ntargets = ["onnx-fp32", "ort-int8"]\n'
        "[bench]\nruns = 10\nwarmup = 2\nmin_seconds = 0.1\n",
    )
    result = runner.invoke(app, ["pipeline", str(recipe)])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    summary = json.loads((run / "pipeline.json").read_text())
    assert summary["compress"]["after"]["sparsity"] == pytest.approx(0.5, abs=0.01)
    pairs = {pair["target"]: pair for pair in summary["versus_original"]}
    assert set(pairs) == {"onnx-fp32", "ort-int8"}
    for pair in pairs.values():  # zeros are stored densely: same bytes, give or take the zeros' entropy
        assert pair["size_ratio"] == pytest.approx(1.0, abs=0.02)
    results = json.loads((run / "results.json").read_text())["results"]
    assert all(Path(row["artifact"]).is_dir() and str(run) in row["artifact"] for row in results)
    assert "compressed vs original" in result.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]  # no staging left behind
    again = runner.invoke(app, ["pipeline", str(recipe)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_a_failed_bench_row_commits_nothing(tmp_path, monkeypatch):
    """A pipeline whose bench has a failed row leaves its output as it was: a half-measured run must not look
    like a finished one."""
    import edgekit.bench.run

    def failing(path, *args, **kwargs):
        raise EdgekitError("runtime exploded")

    monkeypatch.setattr(edgekit.bench.run, "score_artifact", failing)
    recipe = _write(
        tmp_path / "r.toml",
        'model = "nano-cls"\ndata = "shapes-cls"\noutput = "run"\n[export]\ntargets = ["onnx-fp32"]\n',
    )
    result = runner.invoke(app, ["pipeline", str(recipe)])
    assert result.exit_code == 2 and "bench failed" in result.output and "runtime exploded" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.toml"]  # no output, no hidden staging
