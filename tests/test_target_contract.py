"""Contracts over the registries: every registered target (plugins included) on every task's reference model,
and every registered runtime. A new target or runtime is tested here on a classifier and on a detector with
no change to this file."""

from __future__ import annotations

import numpy as np
import pytest
from edgekit.bench.harness import BenchOptions, open_for_timing, score_artifact
from edgekit.manifest import Artifact
from edgekit.registry import get_runtime, get_target, runtime_names, target_names, unavailable_targets
from edgekit.tasks.registry import TASKS

#: each task's reference model, and the points of its headline metric (x100) a target may lose against its
#: FP32 parent on the val split: both from the task registry (a new task brings them)
REFERENCE_MODELS = {name: spec.reference_model for name, spec in TASKS.items() if spec.reference_model}
MAX_DROP_POINTS = {name: spec.int8_drop_bound for name, spec in TASKS.items()}
QUICK = BenchOptions(warmup=1, runs=3, min_seconds=0.0)


@pytest.fixture(scope="module")
def parent_rows(artifacts):
    """Each task's FP32 parent scored once: {task: row}."""
    return {task: score_artifact(artifacts[model], QUICK)[0] for task, model in REFERENCE_MODELS.items()}


@pytest.mark.slow
@pytest.mark.parametrize("task", list(REFERENCE_MODELS))
@pytest.mark.parametrize("target", target_names())
def test_target_contract(target, task, parent_rows, reference_exports):
    if target in unavailable_targets():
        pytest.skip(f"{target}: its converter is not installed here (extra [{unavailable_targets()[target]}])")
    exported = reference_exports(REFERENCE_MODELS[task], target)
    assert exported.status == "ok", exported.status
    artifact = Artifact.load(exported.path)
    assert artifact.manifest.target == target and artifact.manifest.task == task and artifact.model_path.is_file()
    row, _ = score_artifact(exported.path, QUICK)
    parent = parent_rows[task]
    assert row.ok and row.size_bytes > 0 and row.task == task
    metric = TASKS[task].headline
    assert (parent.metrics[metric] - row.metrics[metric]) * 100 <= MAX_DROP_POINTS[task]


def _first_target_on(runtime: str) -> str:
    return next(
        name for name in target_names() if get_target(name).runtime == runtime and name not in unavailable_targets()
    )


@pytest.mark.slow
@pytest.mark.parametrize("runtime", runtime_names())
def test_runtime_contract(runtime, artifacts, reference_exports):
    """A runtime describes a model file, loads an artifact and answers a detector's NCHW float32 batch in the
    FP32 parent's output convention (same shapes, close values), with its thread count and version."""
    exported = reference_exports("nano-det", _first_target_on(runtime))
    assert exported.status == "ok", exported.status
    artifact = Artifact.load(exported.path)
    described = get_runtime(runtime).describe(artifact.model_path)
    assert described.inputs and len(described.inputs[0].shape) == 4 and described.outputs
    assert isinstance(get_runtime(runtime).version(), str) and get_runtime(runtime).version()
    session, batch = open_for_timing(exported.path, QUICK)
    parent_session, parent_batch = open_for_timing(artifacts["nano-det"], QUICK)
    assert batch.dtype == np.float32 and batch.shape == parent_batch.shape and batch.shape[1] == 3
    outputs, expected = session.run(batch), parent_session.run(parent_batch)
    assert [o.shape for o in outputs] == [e.shape for e in expected]
    cosine = float(
        np.dot(outputs[0].ravel(), expected[0].ravel()) / (np.linalg.norm(outputs[0]) * np.linalg.norm(expected[0]))
    )
    assert cosine > 0.99 and session.threads >= 1
