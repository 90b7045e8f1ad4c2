"""Small holes a review found (issue 22, item 11), each closed: bounded bench options, a cache path that is
never the cwd, text that cannot break a Markdown table, run in a spreadsheet or break rich markup, and recipes
that cannot grant trust or prefer a file over a built-in name."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from edgekit.bench.options import BenchOptions
from edgekit.calibration_data.build import cache_root
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.pipeline import load_recipe
from edgekit.report.files import to_csv, to_markdown
from edgekit.results import BenchRow, ResultsDocument
from typer.testing import CliRunner

runner = CliRunner()


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"rounds": 50, "runs": 5, "max_runs": 10},
            "rounds must be at most 10",
        ),  # was an IndexError: rounds with no runs
        ({"runs": 500, "max_runs": 100}, "runs must be at most 100"),
        ({"warmup": 10**9}, "warmup must be at most"),
    ],
)
def test_bench_options_have_upper_bounds(values, message):
    with pytest.raises(EdgekitError, match=message):
        BenchOptions(**values).validate()


def test_an_empty_edgekit_cache_variable_is_unset_not_the_working_directory(monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE", "")
    assert cache_root() == Path.home() / ".cache" / "edgekit"


def test_statuses_and_labels_cannot_break_markdown_csv_or_the_console(tmp_path):
    nasty = 'a|b\n=HYPERLINK("x") [/red][bold]'
    document = ResultsDocument(environment={"cpu": "t"}, rows=(BenchRow.failed("=cmd|calc!A0", nasty),))
    table_rows = [line for line in to_markdown(document).splitlines() if line.startswith("| =cmd")]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 10  # eleven cells, one line
    cells = next(csv.DictReader(io.StringIO(to_csv(document))))
    assert cells["label"].startswith("'=") and cells["target"].startswith("'=")
    from edgekit.report.tables import bench_table
    from rich.console import Console

    Console(file=io.StringIO()).print(bench_table(document))  # no MarkupError


def test_a_recipe_cannot_grant_trust_and_a_built_in_name_wins_over_a_file(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('model = "nano-cls"\noutput = "run"\ntrust = true\n')
    with pytest.raises(EdgekitError, match="pass --trust"):
        load_recipe(recipe)
    assert load_recipe(recipe, trusted=True).trust
    result = runner.invoke(app, ["pipeline", str(recipe)])
    assert result.exit_code == 2 and "pass --trust" in result.output and result.output.count("\n") == 1
    (tmp_path / "nano-cls").write_text("not a model")  # a file named like a built-in beside the recipe
    recipe.write_text('model = "nano-cls"\noutput = "run"\n')
    assert load_recipe(recipe).model == "nano-cls"


@pytest.mark.parametrize(
    "table, line, message",
    [
        ("export", 'compare_original = "false"', "compare_original must be bool"),  # bool("false") was True
        ("export", 'calib_images = "many"', "calib_images must be int"),
        ("compress", 'distill = "no"', "distill must be true or false"),
        ("compress", "epochs = 2.5", "epochs must be an integer"),
        ("compress", "prune = true", "prune must be a number"),
    ],
)
def test_recipe_values_of_the_wrong_type_are_one_line(tmp_path, table, line, message):
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'model = "nano-cls"\noutput = "run"\n[{table}]\n{line}\n')
    with pytest.raises(EdgekitError, match=message):
        load_recipe(recipe)
