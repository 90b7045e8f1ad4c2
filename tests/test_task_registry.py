"""The task registry is the one place tasks are described: metrics, parity parts, default preprocessing, choices."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.data.preprocess import default_preprocessing
from edgekit.results import TASK_METRICS
from edgekit.convert.parity import _parts
from edgekit.tasks.registry import TASKS, task_names


def test_every_task_is_described_once() -> None:
    assert task_names() == ["detect", "classify"]
    assert TASK_METRICS == {"detect": ("map50_95", "map50"), "classify": ("top1", "top5")}
    assert TASKS["detect"].headline == "map50_95" and TASKS["classify"].headline == "top1"
    assert _parts("detect") == {"boxes": slice(0, 4), "scores": slice(4, None)}
    assert _parts("classify") == {"output": slice(0, None)}


@pytest.mark.parametrize("task, ultralytics, size, resize, normalised", [
    ("detect", False, 640, "letterbox", False), ("detect", True, 640, "letterbox", False),
    ("classify", False, 224, "resize", True), ("classify", True, 224, "resize", False)])
def test_default_preprocessing_comes_from_the_registry(task: str, ultralytics: bool, size: int, resize: str,
                                                       normalised: bool) -> None:
    pre = default_preprocessing(task, None, ultralytics=ultralytics)
    assert (pre.size, pre.resize, pre.mean != (0.0, 0.0, 0.0)) == (size, resize, normalised)


def test_an_unknown_task_lists_the_registry_in_one_line(tmp_path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not onnx")
    result = CliRunner().invoke(app, ["bench", str(model), "--task", "segment", "--data", "shapes-det"])
    assert result.exit_code == 2 and "unknown task 'segment' (choose from: detect, classify)" in result.output
