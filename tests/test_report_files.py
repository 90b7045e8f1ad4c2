"""Reports people read: Markdown, CSV, the latency-accuracy PNG, and `edgekit report` from a results JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest
from edgekit.cli import app
from edgekit.report.files import label_offsets, pareto_front, to_csv, to_markdown
from edgekit.results import load_results
from PIL import Image
from typer.testing import CliRunner

runner = CliRunner()


def test_pareto_front_keeps_points_nothing_beats_on_both_axes():
    points = [(10.0, 0.78), (6.0, 0.77), (3.0, 0.77), (4.0, 0.60), (3.0, 0.70), (12.0, 0.79)]
    assert pareto_front(points) == [2, 0, 5]


@pytest.fixture(scope="module")
def results(artifacts, tmp_path_factory):
    """A real bench run of both reference models' FP32 artifacts."""
    path = tmp_path_factory.mktemp("report") / "results.json"
    result = runner.invoke(
        app,
        [
            "bench",
            str(artifacts["nano-det"]),
            str(artifacts["nano-cls"]),
            "--json",
            str(path),
            "--runs",
            "5",
            "--min-seconds",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    return path


def test_labels_of_overlapping_points_are_moved_apart_not_drawn_over_each_other():
    anchors = [(300.0, 200.0), (304.0, 198.0), (302.0, 201.0), (50.0, 20.0)]  # display points, e.g. tflite fp16/fp32
    offsets = label_offsets(anchors, [50.0] * 4)
    assert len(set(offsets[:3])) == 3  # three close markers, three different spots
    assert offsets[3] == offsets[0]  # a marker far from the others keeps the usual spot


def test_markdown_and_csv_carry_every_row_and_the_environment(results):
    document = load_results(results)
    markdown = to_markdown(document)
    assert markdown.count("/onnx-fp32 |") == 2 and "map50_95" in markdown and "top1" in markdown
    assert document.environment["cpu"] in markdown and "Python" in markdown
    rows = list(csv.DictReader(io.StringIO(to_csv(document))))
    assert [r["metric"] for r in rows] == ["map50_95", "top1"]
    assert float(rows[1]["value"]) > 0.9 and int(rows[0]["size_bytes"]) > 1_000_000


def test_report_command_writes_all_three_files(results, tmp_path):
    md, table, png = tmp_path / "r.md", tmp_path / "r.csv", tmp_path / "r.png"
    result = runner.invoke(
        app, ["report", str(results), "--markdown", str(md), "--csv", str(table), "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert md.read_text().startswith("### edgekit bench") and table.read_text().startswith("label,")
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] > 500


def test_report_refuses_what_is_not_a_results_document(tmp_path):
    for name, text, message in (
        ("a.json", "{", "not a results JSON"),
        ("b.json", json.dumps({"schema": 99, "environment": {}, "results": []}), "schema 99"),
        ("c.json", "[]", "not an edgekit bench results document"),
    ):
        (tmp_path / name).write_text(text)
        result = runner.invoke(app, ["report", str(tmp_path / name)])
        assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1
    result = runner.invoke(app, ["report", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "not found" in result.output


def test_off_a_terminal_each_epoch_is_one_line_on_stderr(capsys):
    """A progress bar draws nothing in a CI log: before, `edgekit compress` ran 60 min there without a line."""
    import io

    from edgekit.report.tables import step_progress
    from rich.console import Console

    with step_progress(Console(file=io.StringIO()), "recover") as on_step:
        for epoch in range(2):
            for step in range(1, 4):
                on_step(epoch, step, 3, 0.5)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == ["recover epoch 1: 3 steps", "recover epoch 2: 3 steps"]
