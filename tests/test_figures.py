"""Every figure registered in docs/figures.toml is recomputed from its JSON and found, in its context, on the
page that quotes it (issue 41, item 3): a figure whose JSON changed, or a page edited by hand, fails here.

A measured figure comes from a committed JSON (or a CSV, read as a list of rows: a training log); a setting the
page states (a test's tolerance, a default, a threshold) comes from the file that holds it (``source`` and a
``pattern`` whose first group is the value), so a page cannot drift from the code either."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "docs" / "figures.toml"
FIGURES: list[dict[str, Any]] = tomllib.loads(REGISTRY.read_text())["figure"]
#: what an ``expr`` may call besides ``doc`` (the JSON), ``get`` and ``row``, and ``other(path)``: a value of the
#: figure's second JSON (``json2``), for a figure computed from two runs (a pruned model against its control)
SAFE = {"abs": abs, "min": min, "max": max, "round": round, "len": len, "sum": sum, "float": float, "sorted": sorted}


def _get(document: Any, path: str) -> Any:
    """``a.b.0.c``: dict keys and list indices, one dot each (a key holding a dot: write it as ``a.[b.c]``)."""
    value = document
    for part in _parts(path):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _parts(path: str) -> list[str]:
    parts, current, bracket = [], "", False
    for char in path:
        if char == "[" and not current:
            bracket = True
        elif char == "]" and bracket:
            bracket = False
        elif char == "." and not bracket:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _number(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell


def _load(path: str) -> Any:
    """A figure's data: a JSON document, or a CSV file as a list of rows (a cell that is a number as a float)."""
    file = ROOT / path
    if file.suffix == ".csv":
        with file.open(newline="") as handle:
            return [{key.strip(): _number(cell) for key, cell in row.items()} for row in csv.DictReader(handle)]
    return json.loads(file.read_text())


def _setting(figure: dict[str, Any]) -> float:
    """A stated setting: the first group of ``pattern`` in the file ``source`` (which must match exactly once),
    times ``scale`` (0.005 of mAP in a test is 0.5 pt on the page)."""
    found = re.findall(figure["pattern"], (ROOT / figure["source"]).read_text(), re.MULTILINE)
    assert len(found) == 1, f"{figure['id']}: {figure['pattern']!r} matches {len(found)} times in {figure['source']}"
    return float(found[0][0] if isinstance(found[0], tuple) else found[0]) * figure.get("scale", 1)


def _value(figure: dict[str, Any]) -> Any:
    if "source" in figure:
        return _setting(figure)
    document = _load(figure["json"])
    if "path" in figure:
        return _get(document, figure["path"])

    def row(**match: Any) -> dict[str, Any]:
        rows = document["results"] if "results" in document else document["bench"]["results"]
        found = [r for r in rows if all(str(r.get(k, "")).endswith(str(v)) for k, v in match.items())]
        assert len(found) == 1, f"{figure['id']}: {len(found)} rows match {match}"
        return found[0]

    second = _load(figure["json2"]) if "json2" in figure else None
    names = SAFE | {
        "doc": document,
        "get": lambda path: _get(document, path),
        "row": row,
        "other": lambda path: _get(second, path),
    }
    return eval(figure["expr"], {"__builtins__": {}, **names})  # noqa: S307 - the repository's own registry


def test_the_registry_is_well_formed():
    ids = [figure["id"] for figure in FIGURES]
    assert len(ids) == len(set(ids)), "figure ids repeat"
    for figure in FIGURES:
        assert {"id", "page", "format", "quote"} <= figure.keys(), figure
        assert ("json" in figure) != ("source" in figure), f"{figure['id']}: a JSON (measured) or a source (setting)"
        if "json" in figure:
            assert ("path" in figure) != ("expr" in figure), f"{figure['id']}: give path or expr, not both"
        else:
            assert "pattern" in figure, f"{figure['id']}: a setting needs the pattern that finds it in its source"
        assert "{}" in figure["quote"], f"{figure['id']}: the quote must hold the figure as {{}}"
        for key in ("json", "json2", "source"):
            if key in figure:
                assert (ROOT / figure[key]).is_file(), f"{figure['id']}: {figure[key]} is not committed"


def _quote(figure: dict[str, Any]) -> str:
    """The figure's quote with its value recomputed from the JSON and formatted in."""
    value = _value(figure)
    assert isinstance(value, (int, float)) and math.isfinite(value), f"{figure['id']}: {value!r}"
    return str(figure["quote"]).format(figure["format"].format(abs(value) if figure.get("unsigned") else value))


@pytest.mark.parametrize("figure", FIGURES, ids=[figure["id"] for figure in FIGURES])
def test_the_figure_is_its_json_and_stands_on_its_page(figure: dict[str, Any]):
    quote = _quote(figure)
    page = (ROOT / figure["page"]).read_text()
    origin = figure.get("json") or figure["source"]
    assert quote in page, f"{figure['page']} does not say {quote!r} ({figure['id']} from {origin})"


def _script(name: str) -> Any:
    """A benchmark script as a module (its folder on the path while it loads: some import a sibling)."""
    import importlib.util
    import sys

    script = ROOT / "benchmarks" / name
    sys.path.insert(0, str(script.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"figures_{script.stem}", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(script.parent))
    return module


def _peer_table() -> str:
    """docs/yolo.md's YOLOv8n table against Ultralytics' exports, rendered again by the script that wrote it."""
    document = json.loads((ROOT / "benchmarks" / "peers" / "ultralytics.json").read_text())
    scored = json.loads((ROOT / "benchmarks" / "peers" / "yolo_val.json").read_text())["results"]
    yolo_val = {entry["model"]: entry["map50_95"] for entry in scored}
    module = _script("peers/ultralytics.py")
    table = module.markdown_table(document, document["labels"], document["peers"], yolo_val, "YOLOv8n", 256)
    rows = "\n".join(line for line in table.splitlines() if line.startswith("|"))
    assert len(rows.splitlines()) == 2 + len(document["results"])
    return rows


def _count_table() -> str:
    """docs/gate.md's count-lane study table, rendered again from ``benchmarks/count_noise.json``."""
    results = json.loads((ROOT / "benchmarks" / "count_noise.json").read_text())
    table = str(_script("count_noise.py").markdown_table(results))
    assert len(table.splitlines()) == 2 + len(results["settings"])
    return table


def test_the_yolov8n_peer_table_is_rendered_from_its_json_and_stands_on_its_page():
    """docs/yolo.md's YOLOv8n table against Ultralytics' exports: every cell, rendered again from the bench JSON
    and `yolo val`'s JSON by the script that wrote it."""
    assert _peer_table() in (ROOT / "docs" / "yolo.md").read_text()


def test_the_count_lane_table_is_rendered_from_its_json_and_stands_on_its_page():
    """docs/gate.md's count-lane study: the table, rendered again from ``benchmarks/count_noise.json``."""
    assert _count_table() in (ROOT / "docs" / "gate.md").read_text()


LADDER = ROOT / "benchmarks" / "sweeps" / "ladder-shapes" / "results.json"


def _ladder_rows() -> list[str]:
    """docs/sweep.md's table of the ladder sweep's pruned points, each row rendered from the sweep's results.json
    with the sweep's own verdict cells (``edgekit.sweeps.dominance.summary``)."""
    from edgekit.sweeps.dominance import summary

    rows = []
    for row in json.loads(LADDER.read_text())["results"]:
        cell = row["cell"]
        if not cell.get("prune") or row["status"] != "ok":
            continue
        model = Path(cell["source"]).name.split("-")[0]
        verdicts = f"{summary(cell, 'vs_smaller_input')} | {summary(cell, 'vs_other_models')}"
        rows.append(
            f"| {model} @{cell['imgsz']} | {row['target']} | {row['metrics']['map50_95']:.4f} | "
            f"{cell['p50_vs_reference']:.2f} | {verdicts} |"
        )
    return rows


def test_the_ladder_table_is_its_sweep():
    """Every pruned point of the ladder sweep stands in docs/sweep.md's table as its results.json has it."""
    rows = _ladder_rows()
    assert rows, "the ladder sweep has no pruned point"
    page = (ROOT / "docs" / "sweep.md").read_text()
    missing = [row for row in rows if row not in page]
    assert not missing, f"docs/sweep.md lacks {missing[:3]}"


#: docs/targets.md's calibration table: its row labels -> (target, the study JSON's variant label)
CALIBRATION_ROWS = {
    ("ort-int8", "MeanMinMax"): "MeanMinMax (default)",
    ("ort-int8", "Percentile 99.999"): "Percentile 99.999",
    ("ort-int8", "MinMax"): "MinMax",
    ("ort-int8", "Entropy"): "Entropy",
    ("ort-int8", "per-tensor weights (MeanMinMax)"): "per-tensor weights",
    ("openvino-int8", "full bias correction, mixed preset"): "full bias correction, mixed (default)",
    ("openvino-int8", "fast bias correction"): "fast bias correction",
    ("openvino-int8", "performance preset (symmetric activations)"): "performance preset (symmetric activations)",
    ("tflite-int8", "per-channel weights, MeanMinMax"): "per-channel MeanMinMax (default)",
    ("tflite-int8", "MinMax (the converter's own)"): "MinMax (the converter's own)",
    ("tflite-int8", "per-tensor weights (MeanMinMax)"): "per-tensor weights",
}
CALIBRATION_STUDIES = ["", "_nano_det", "_yolo11n", "_yolo26n"]  # the table's model columns, in order


def _calibration_rows() -> list[str]:
    """docs/targets.md's calibration table, each row's cells rendered from its four study JSONs (blank: not
    studied), up to its last model column."""
    studies = [
        json.loads((ROOT / f"benchmarks/calibration_study{name}.json").read_text()) for name in CALIBRATION_STUDIES
    ]
    rows = []
    for (target, label), variant in CALIBRATION_ROWS.items():
        cells = []
        for study in studies:
            found = [v for v in study["variants"] if v["target"] == target and v["variant"] == variant]
            cells.append(f"{found[0]['drop_points']:.2f}".replace("-", "−") if found else "")
        rows.append(f"| {target} | {label} | {' | '.join(cells)} |")
    return rows


def test_the_calibration_table_is_its_four_studies():
    """Every cell of docs/targets.md's calibration table is the drop its study JSON holds (blank: not studied)."""
    lines = (ROOT / "docs/targets.md").read_text().splitlines()
    for prefix in _calibration_rows():
        assert any(line.startswith(prefix) for line in lines), f"docs/targets.md has no row {prefix!r}"


#: a published figure, as this test finds them: a number with a unit (points, a ratio, a percentage, a size, a
#: duration). Plain numbers (an mAP such as 0.745) are not counted here, registered or not.
FIGURE_PATTERN = re.compile(r"(?<![\w.])[−+-]?\d+(?:[.,]\d+)?\s?(?:pt|x|%|GiB|GB|MB|ms|s|min)(?!\w)")
PAGES = ["README.md", *sorted(f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md"))]


def figure_coverage() -> dict[str, tuple[int, list[str]]]:
    """Per page: how many of its figures (``FIGURE_PATTERN``) stand inside a registered figure's quote or a table
    rendered from its JSON, and the text of those that do not."""
    quoted: dict[str, list[str]] = {
        "docs/yolo.md": [_peer_table()],
        "docs/gate.md": [_count_table()],
        "docs/targets.md": _calibration_rows(),
        "docs/sweep.md": _ladder_rows(),
    }
    for figure in FIGURES:
        quoted.setdefault(figure["page"], []).append(_quote(figure))
    coverage = {}
    for page in PAGES:
        text = (ROOT / page).read_text()
        spans = [(m.start(), m.start() + len(q)) for q in quoted.get(page, []) for m in re.finditer(re.escape(q), text)]
        found = list(FIGURE_PATTERN.finditer(text))
        loose = [m.group() for m in found if not any(a <= m.start() and m.end() <= b for a, b in spans)]
        coverage[page] = (len(found) - len(loose), loose)
    return coverage


def test_no_page_publishes_more_unregistered_figures_than_it_did():
    """A ratchet on the figures no registry entry recomputes: each page may hold at most the count its
    ``[unregistered]`` entry in docs/figures.toml allows (what the registry did not cover yet when it was set), so
    a new figure arrives with its JSON and entry; lower the number as figures are registered."""
    allowed = tomllib.loads(REGISTRY.read_text()).get("unregistered", {})
    coverage = figure_coverage()
    over = {
        page: f"{len(loose)} unregistered (at most {allowed.get(page, 0)}): {loose[-5:]}"
        for page, (_, loose) in coverage.items()
        if len(loose) > allowed.get(page, 0)
    }
    assert not over, over
    stale = {page: (allowed[page], len(coverage[page][1])) for page in allowed if page in coverage}
    assert all(limit == now for limit, now in stale.values()), f"lower [unregistered] to what the pages hold: {stale}"
