"""The task registry is the one place tasks are described: metrics, parity parts, default preprocessing, choices."""

from __future__ import annotations

import pytest
from edgekit.cli import app
from edgekit.convert.parity import _parts
from edgekit.data.preprocess import default_preprocessing
from edgekit.results import TASK_METRICS
from edgekit.tasks.registry import TASKS, task_names
from typer.testing import CliRunner


def test_every_task_is_described_once() -> None:
    assert task_names() == ["detect", "classify", "pose"]
    assert TASK_METRICS == {
        "detect": ("map50_95", "map50"),
        "classify": ("top1", "top5"),
        "pose": ("oks_map50_95", "oks_map50", "map50_95", "map50"),
    }
    assert TASKS["detect"].headline == "map50_95" and TASKS["classify"].headline == "top1"
    assert _parts("detect") == {"boxes": slice(0, 4), "scores": slice(4, None)}
    assert _parts("classify") == {"output": slice(0, None)}


@pytest.mark.parametrize(
    "task, ultralytics, size, resize, normalised",
    [
        ("detect", False, 640, "letterbox", False),
        ("detect", True, 640, "letterbox", False),
        ("classify", False, 224, "resize", True),
        ("classify", True, 224, "resize", False),
    ],
)
def test_default_preprocessing_comes_from_the_registry(
    task: str, ultralytics: bool, size: int, resize: str, normalised: bool
) -> None:
    pre = default_preprocessing(task, None, ultralytics=ultralytics)
    assert (pre.size, pre.resize, pre.mean != (0.0, 0.0, 0.0)) == (size, resize, normalised)


def test_an_unknown_task_lists_the_registry_in_one_line(tmp_path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not onnx")
    result = CliRunner().invoke(app, ["bench", str(model), "--task", "segment", "--data", "shapes-det"])
    assert result.exit_code == 2 and "unknown task 'segment' (choose from: detect, classify, pose)" in result.output


def test_no_module_outside_the_task_registry_branches_on_a_tasks_name() -> None:
    """Behaviour per task comes from the registry's fields and hooks; a third task changes no branch."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    branch = re.compile(r"""(task\w*\s*[!=]=\s*["'])|(["'](detect|classify|pose)["']\s*[!=]=)|(in\s*\(\s*["']detect)""")
    found = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("toolkit", "exporters", "runtimes")
        for path in sorted((root / folder).rglob("*.py"))
        if "tasks" not in path.relative_to(root).parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if branch.search(line)
    ]
    assert found == [], found


def _toy_evaluator(session, card, dataset, tick=None, decoding=None):
    return {"hits": 0.25}, [{"seen": len(dataset.samples)}]


def _toy_training_loss(num_classes, image_size):
    return (lambda output, labels: output.sum() * 0), f"toy loss for {num_classes} classes"


def test_a_new_task_is_one_registry_entry_and_its_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A toy third task: scored through its own evaluator and trained with its own loss, found by name only."""
    import dataclasses

    from edgekit.card import ModelCard
    from edgekit.compress.recover import task_criterion
    from edgekit.data.datasets import ClassificationDataset
    from edgekit.tasks import registry
    from edgekit.tasks.evaluation import evaluate
    from torch import nn

    toy = dataclasses.replace(
        TASKS["classify"],
        name="toy",
        metrics=("hits",),
        output_rank=5,
        evaluator=f"{__name__}:_toy_evaluator",
        training_loss=f"{__name__}:_toy_training_loss",
    )
    monkeypatch.setitem(registry.TASKS, "toy", toy)
    card = ModelCard.for_task("toy", default_preprocessing("toy", 32), ["a", "b"])
    dataset = ClassificationDataset("toy-set", [], ["a", "b"], task="toy")
    assert evaluate(None, card, dataset) == ({"hits": 0.25}, [{"seen": 0}])
    assert registry.task_for_output_rank(5) == "toy" and toy.headline == "hits"
    _, name = task_criterion(nn.Identity(), "toy", 2, 32)
    assert name == "toy loss for 2 classes"
    with pytest.raises(Exception, match="task 'toy' has no distill_loss"):
        dataclasses.replace(toy, distill_loss="").hook("distill_loss")


def test_an_onnx_output_no_task_produces_asks_for_task(tmp_path) -> None:
    """A raw output of a rank no registered task has ([N, C, H, W] here) is one line asking for ``--task``."""
    import onnx
    from edgekit.convert.sources import load_source
    from edgekit.errors import ExportError
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "maps.onnx"))
    with pytest.raises(ExportError, match=r"output 'y' has shape \[1, 3, 8, 8\].*pass --task"):
        load_source(str(tmp_path / "maps.onnx"))
    assert load_source(str(tmp_path / "maps.onnx"), task="classify").card.task == "classify"
