"""edgekit sweep: the sweep file's checks, the plan's sharing of cells, and bad input as one error line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from re import escape as re_escape

import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.sweeps.config import load_sweep
from edgekit.sweeps.plan import Planner
from edgekit.sweeps.store import Store
from typer.testing import CliRunner

runner = CliRunner()
GRID = """model = "nano-det"
data = "shapes-det"
output = "out"
store = "store"
[grid]
prune = [0.0, 0.3]
epochs = [1, 2]
targets = ["onnx-fp32", "ort-int8", "tflite"]
[[grid.calibration]]
name = "a"
[[grid.calibration]]
name = "b"
calib_images = 16
overrides = { ort-int8 = { calibration_method = "MinMax" } }
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def test_the_plan_is_a_tree_float_targets_once_and_equal_conversions_shared(tmp_path):
    config = load_sweep(_file(tmp_path, GRID))
    assert config.targets == ("onnx-fp32", "ort-int8", "tflite-int8")  # a family name resolves
    plan = Planner(config, Store(tmp_path / "store")).build()
    kinds = [cell.kind for cell in plan.cells.values()]
    # model variants: p0, p0.3-e1, p0.3-e2; per variant onnx-fp32 once, ort-int8 and tflite-int8 per calibration
    assert len(plan.points) == 3 * (1 + 2 + 2)
    assert kinds.count("compress") == 2
    # tflite-int8 under "a" and "b" differ (calibration images); both ort-int8 variants differ too
    assert kinds.count("export") == len(plan.points)
    assert plan.reference is not None and plan.reference.model == "p0" and plan.reference.target == "onnx-fp32"
    assert plan.reference in plan.points  # the grid's own p0/onnx-fp32 is the reference, not a second cell
    # every cell lists the cells it needs, which come before it
    order = list(plan.cells)
    assert all(order.index(need) < order.index(key) for key, cell in plan.cells.items() for need in cell.needs)


def test_a_variant_that_changes_nothing_for_a_target_shares_its_conversion(tmp_path):
    text = GRID.replace("calib_images = 16\n", "")  # "b" now differs from "a" only for ort-int8
    plan = Planner(load_sweep(_file(tmp_path, text)), Store(tmp_path / "store")).build()
    tflite = {p.export_key for p in plan.points if p.target == "tflite-int8" and p.model == "p0"}
    ort = {p.export_key for p in plan.points if p.target == "ort-int8" and p.model == "p0"}
    assert len(tflite) == 1 and len(ort) == 2


def test_keys_follow_the_inputs(tmp_path):
    first = Planner(load_sweep(_file(tmp_path, GRID)), Store(tmp_path / "s")).build()
    again = Planner(load_sweep(_file(tmp_path, GRID)), Store(tmp_path / "s")).build()
    other = Planner(
        load_sweep(_file(tmp_path, GRID.replace('data = "shapes-det"', 'data = "shapes-cls"'))), Store(tmp_path / "s")
    ).build()
    assert list(first.cells) == list(again.cells)
    assert not set(first.cells) & set(other.cells)


@pytest.mark.parametrize(
    "change, message",
    [
        (("[grid]", "[grid]\nsize = 3"), "unknown key(s) in [grid]: size"),
        (('targets = ["onnx-fp32", "ort-int8", "tflite"]', "targets = []"), "[grid] targets is empty"),
        (('targets = ["onnx-fp32", "ort-int8", "tflite"]\n', ""), "[grid] targets is required"),
        (("prune = [0.0, 0.3]", "prune = [0.0, 1.5]"), "prune ratios must be in [0, 1)"),
        (("prune = [0.0, 0.3]", "prune = [0.0, 0.0]"), "repeats a value"),
        (('name = "b"', 'name = "a"'), "share a name"),
        (('name = "b"', 'name = "../b"'), "calibration name"),
        (("calib_images = 16", "calib_images = 0"), "calib_images must be an integer"),
        (("[grid]", "[compress]\nprune = 0.5\n[grid]"), "unknown key(s) in [compress]: prune"),
        (('targets = ["onnx-fp32", "ort-int8", "tflite"]', 'targets = ["tensorrt"]'), "tensorrt"),
        (('output = "out"', 'output = ""'), "'output' is required"),
    ],
)
def test_bad_sweep_files_are_one_line(tmp_path, change, message):
    with pytest.raises(EdgekitError, match=None) as caught:
        load_sweep(_file(tmp_path, GRID.replace(*change)))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def _cli(tmp_path: Path, *args: str):
    result = runner.invoke(app, ["sweep", *args])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    return result, errors


def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
    sweep = _file(tmp_path, GRID.replace("[grid]", "[grid]\nsize = 3"))
    result, errors = _cli(tmp_path, str(sweep))
    assert result.exit_code == 2 and len(errors) == 1 and "size" in errors[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "store").exists()


def test_a_store_that_cannot_be_written_is_one_line_before_any_work(tmp_path):
    (tmp_path / "afile").write_text("")
    sweep = _file(tmp_path, GRID.replace('store = "store"', 'store = "afile/store"'))
    result, errors = _cli(tmp_path, str(sweep))
    assert result.exit_code == 2 and len(errors) == 1 and "not writable" in errors[0]
    assert not (tmp_path / "out").exists()


def test_a_ray_address_that_does_not_answer_is_one_line(tmp_path):
    pytest.importorskip("ray")
    result, errors = _cli(tmp_path, str(_file(tmp_path, GRID)), "--executor", "ray", "--address", "127.0.0.1:9")
    assert result.exit_code == 2 and len(errors) == 1 and "does not answer" in errors[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "store").exists()


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path):
    sweep = _file(tmp_path, GRID)
    code = (
        "import sys\nsys.modules['ray'] = None\nfrom edgekit.cli import main\n"
        f"sys.argv = ['edgekit', 'sweep', {str(sweep)!r}, '--executor', 'ray']\nmain()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "pip install 'edgekit-deploy[ray]'" in lines[0], result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "store").exists()


def test_an_unknown_executor_is_one_line(tmp_path):
    result, errors = _cli(tmp_path, str(_file(tmp_path, GRID)), "--executor", "dask")
    assert result.exit_code == 2 and len(errors) == 1 and "unknown executor" in errors[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "store").exists()


class _NoWorkers:
    """An executor that must not be asked to run anything (the driver's own bookkeeping is under test)."""

    name = "none"

    def submit(self, spec, exclusive=False):
        raise AssertionError("nothing should be submitted")

    def wait_any(self, jobs, timeout):
        return []

    def close(self, cancel=False):
        pass


def test_the_driver_fails_a_cell_whose_need_is_not_in_the_sweep_instead_of_waiting_for_ever(tmp_path):
    from edgekit.sweeps.driver import Driver
    from edgekit.sweeps.plan import Cell

    lines: list[str] = []
    driver = Driver(_NoWorkers(), Store(tmp_path), lines.append)
    records = driver.run(
        [Cell("export", "k1", "orphan", {}, ("missing",)), Cell("score", "k2", "its score", {}, ("k1",))]
    )
    assert "outside the sweep" in records["k1"]["error"] and "orphan failed" in records["k2"]["error"]
    assert driver.tally.failed == {"export": 1, "score": 1} and len(lines) == 2


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("[bench]\nrounds = 5000\n", "rounds must be at most"),
        ("[bench]\nwarmup = 1e12\n", "warmup must be an integer"),
        ('[bench]\nthreads = "two"\n', "threads must be an integer"),
        ('[compress]\nrecover = "magic"\n', "--recover must be one of"),
        ('[compress]\nimportance = "vibes"\n', "importance must be one of"),
        ('[compress]\nrecover = "labels"\nlr = "fast"\n', "[compress]"),
        ('[compress]\nimages = "/"\n', "whole file system"),
        ('[compress]\nimages = "no-such-folder"\n', "is not a folder"),
    ],
)
def test_every_value_is_checked_when_the_sweep_is_read(tmp_path, change, said):
    """Before: each of these failed only when its cell ran, after other cells had run and been written."""
    with pytest.raises(EdgekitError, match=re_escape(said)):
        load_sweep(_file(tmp_path, GRID + change))


def test_missing_model_or_data_paths_are_refused_when_the_sweep_is_read(tmp_path):
    with pytest.raises(EdgekitError, match="model .*missing.onnx does not exist"):
        load_sweep(_file(tmp_path, GRID.replace('model = "nano-det"', 'model = "missing.onnx"')))
    with pytest.raises(EdgekitError, match="data .*missing.yaml does not exist"):
        load_sweep(_file(tmp_path, GRID.replace('data = "shapes-det"', 'data = "missing.yaml"')))


def test_compress_images_are_resolved_against_the_sweep_file(tmp_path):
    (tmp_path / "imgs").mkdir()
    config = load_sweep(_file(tmp_path, GRID + '[compress]\nimages = "imgs"\n'))
    assert config.compress["images"] == str((tmp_path / "imgs").resolve())


def test_a_huge_grid_is_refused_unless_the_cap_is_raised(tmp_path):
    prune = ", ".join(f"0.{i:03d}" for i in range(1, 400))
    text = GRID.replace("prune = [0.0, 0.3]", f"prune = [{prune}]")
    with pytest.raises(EdgekitError, match="above the cap of 1000: pass --max-cells"):
        load_sweep(_file(tmp_path, text))
    assert load_sweep(_file(tmp_path, text), max_cells=100_000).cells() > 1000
    result, errors = _cli(tmp_path, str(_file(tmp_path, text)))
    assert result.exit_code == 2 and len(errors) == 1 and "--max-cells" in errors[0]
