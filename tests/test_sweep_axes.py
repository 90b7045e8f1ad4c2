"""The sweep's model and imgsz axes: the plan they make (one compress cell per model variant, shared by every
size), names and keys, the one-line refusals, and the dominance verdicts on measured rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from edgekit.errors import EdgekitError
from edgekit.results import BenchRow, Latency
from edgekit.sweeps.config import load_sweep
from edgekit.sweeps.dominance import DOMINATED, DOMINATES, NO_MATCH, compare, with_dominance
from edgekit.sweeps.plan import Planner
from edgekit.sweeps.store import Store

YOLOV8N_ONNX = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "yolov8n-shapes.onnx"
GRID = """model = "nano-det"
data = "shapes-det"
output = "out"
store = "store"
[grid]
prune = [0.0, 0.3]
epochs = [1, 2]
targets = ["onnx-fp32", "ort-int8"]
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return load_sweep(path)


def _plan(tmp_path: Path, text: str):
    return Planner(_load(tmp_path, text), Store(tmp_path / "store")).build()


def test_models_and_sizes_multiply_the_grid_and_share_each_compress_cell(tmp_path):
    text = GRID.replace('model = "nano-det"', f'model = ["nano-det", "{YOLOV8N_ONNX}"]').replace(
        "[grid]\n", "[grid]\nimgsz = [256, 224]\n"
    )
    plan = _plan(tmp_path, text)
    # 2 models x 3 variants (p0, p0.3-e1, p0.3-e2) x 2 sizes x 2 targets
    assert len(plan.points) == 2 * 3 * 2 * 2
    assert [c.kind for c in plan.cells.values()].count("compress") == 2 * 2  # per model and pruned variant
    names = {p.model for p in plan.points}
    assert {"nano-det-p0@256", "nano-det-p0.3-e1@224", "yolov8n-shapes-p0@224"} <= names
    assert plan.reference is not None and plan.reference.model == "nano-det-p0@256"
    assert {p.source for p in plan.points} == {"nano-det", str(YOLOV8N_ONNX)}
    at = {(p.model, p.target): p for p in plan.points}
    # one compressed model, exported at each size: the same compress cell, two export cells
    small, large = at[("nano-det-p0.3-e1@224", "onnx-fp32")], at[("nano-det-p0.3-e1@256", "onnx-fp32")]
    assert small.compress_key == large.compress_key and small.export_key != large.export_key
    assert plan.cells[small.export_key].spec["imgsz"] == 224


def test_one_model_in_a_list_and_no_sizes_keep_the_earlier_names_and_keys(tmp_path):
    plain = _plan(tmp_path, GRID)
    listed = _plan(tmp_path, GRID.replace('model = "nano-det"', 'model = ["nano-det"]'))
    assert list(plain.cells) == list(listed.cells)
    assert {p.model for p in plain.points} == {"p0", "p0.3-e1", "p0.3-e2"}


def test_a_head_reaches_every_compress_and_export_of_the_models_but_not_the_compressed_ones(tmp_path):
    """``head = "o2m"`` (a YOLO26 ladder: compress prunes the one-to-many head) keys and reaches the compress cells
    and the exports of the models themselves; a sweep without it keeps its earlier keys."""
    plain = _plan(tmp_path, GRID)
    headed = _plan(tmp_path, GRID.replace('data = "shapes-det"', 'data = "shapes-det"\nhead = "o2m"'))
    assert set(plain.cells).isdisjoint(headed.cells)
    assert {cell.spec["head"] for cell in headed.cells.values() if cell.kind in ("compress", "export")} == {"o2m"}
    assert {cell.spec["head"] for cell in plain.cells.values() if cell.kind in ("compress", "export")} == {None}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (('model = "nano-det"', 'model = ["nano-det", "nano-cls"]'), "the model axis mixes tasks"),
        (("[grid]\n", "[grid]\nimgsz = [256, 250]\n"), "imgsz [250] is not a multiple of 32"),
        (("[grid]\n", "[grid]\nimgsz = [0]\n"), "imgsz must be in 32..4096"),
        (("[grid]\n", "[grid]\nimgsz = [256, 256]\n"), "repeats a value"),
        (('model = "nano-det"', 'model = ["nano-det", "nano-det"]'), "lists a model twice"),
        (('model = "nano-det"', "model = []"), "'model' is required"),
        (('data = "shapes-det"', 'data = "shapes-det"\nhead = "nms"'), "'head' must be one of e2e, o2m"),
        (('data = "shapes-det"', 'data = "shapes-det"\nhead = "e2e"'), "head = 'e2e' cannot be pruned"),
    ],
)
def test_bad_axes_are_one_line_when_the_sweep_is_read(tmp_path, change, said):
    with pytest.raises(EdgekitError) as caught:
        _load(tmp_path, GRID.replace(*change))
    assert said in str(caught.value) and "\n" not in str(caught.value)


def _row(source: str, imgsz: int, prune: float, p50: float, value: float, target: str = "ort-int8") -> BenchRow:
    return BenchRow(
        target=target,
        artifact=f"out/{source}-{prune}-{imgsz}",
        status="ok",
        task="detect",
        metrics={"map50_95": value},
        latency=Latency(p50=p50, p90=p50, p99=p50),
        size_bytes=1000,
        cell={"source": source, "imgsz": imgsz, "prune": prune, "calibration": "default"},
    )


def test_a_pruned_point_is_judged_against_each_family_at_equal_p50():
    smaller = [_row("v8n", 256, 0.0, 10.0, 0.70), _row("v8n", 224, 0.0, 8.0, 0.66), _row("v8n", 192, 0.0, 6.0, 0.60)]
    # at p50 7.0 the smaller-input front is 0.63: the pruned point's 0.645 beats it by 1.5 pts
    pruned = _row("v8n", 256, 0.3, 7.0, 0.645)
    verdict = compare(pruned, smaller)
    assert verdict is not None and verdict["verdict"] == DOMINATES and verdict["margin_pts"] == pytest.approx(1.5)
    # 0.62 loses 1 pt to it
    beaten = compare(_row("v8n", 256, 0.3, 7.0, 0.62), smaller)
    assert beaten is not None and beaten["verdict"] == DOMINATED and beaten["margin_pts"] == pytest.approx(-1.0)
    # faster than every alternative but less accurate than the fastest: nothing to compare at its p50
    assert compare(_row("v8n", 256, 0.3, 5.0, 0.55), smaller) == {"verdict": NO_MATCH, "margin_pts": None, "against": 3}
    # faster and more accurate than the fastest: dominates it outright
    fast = compare(_row("v8n", 256, 0.3, 5.0, 0.62), smaller)
    assert fast is not None and fast["verdict"] == DOMINATES and fast["margin_pts"] == pytest.approx(2.0)


def test_a_dominated_alternative_does_not_pull_the_front_down():
    family = [_row("v8n", 224, 0.0, 8.0, 0.66), _row("v8n", 192, 0.0, 9.0, 0.50)]  # slower and worse: off the front
    verdict = compare(_row("v8n", 256, 0.3, 9.0, 0.60), family)
    assert verdict is not None and verdict["verdict"] == DOMINATED and verdict["margin_pts"] == pytest.approx(-6.0)


def test_with_dominance_compares_like_with_like_and_leaves_unpruned_rows_alone():
    rows = [
        _row("v8n", 256, 0.0, 10.0, 0.70),
        _row("v8n", 192, 0.0, 6.0, 0.60),
        _row("v8n", 192, 0.0, 6.0, 0.99, target="openvino-int8"),  # another target: never an alternative
        _row("11n", 256, 0.0, 7.0, 0.66),
        _row("v8n", 256, 0.3, 7.0, 0.65),
    ]
    judged = with_dominance(rows)
    assert all("vs_smaller_input" not in row.cell for row in judged[:4])
    cell = judged[4].cell
    # same model: front (6.0, 0.60) - (10.0, 0.70) at 7.0 is 0.625; other models: YOLO11n at 7.0 is 0.66
    assert cell["vs_smaller_input"]["margin_pts"] == pytest.approx(2.5)
    assert cell["vs_other_models"]["verdict"] == DOMINATED
    assert cell["vs_other_models"]["margin_pts"] == pytest.approx(-1.0)
