"""``edgekit compress``: prune / sparsify / distill a PyTorch model and report what each step bought and cost."""

from __future__ import annotations

import copy
import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..card import CARD_FILE, ModelCard
from ..convert.sources import ModelSource, load_source
from ..data.resolve import resolve_dataset
from ..errors import DataError, EdgekitError
from ..fsutil import atomic_file, check_replaceable
from ..tasks.evaluation import evaluate
from ..tasks.registry import TASKS
from .distill import Images, StepCallback, distill, normalised_batch
from .idle import IdleOutputs, idle_layers
from .images import distillation_images, folder_images, probe_images, training_stream
from .labelled import labelled_images
from .options import KD_IMAGES, CompressPlan, DistillOptions, PruneOptions  # noqa: F401 - re-exported here
from .prunable import make_prunable
from .pruning import (
    Gradients,
    check_traceable,
    make_permanent,
    prune_structured,
    prune_unstructured,
    quantize_dynamic,
    sparsity,
    sparsity_regularizer,
)
from .recover import importance_gradients, recovery_mode, task_criterion
from .rewrite import replace_activations, same_padding
from .stats import TorchSession, model_stats

PROBE_IMAGES = 128  # unlabelled images that decide which detector outputs are idle


def _save_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path, card: ModelCard | None = None) -> None:
    """TorchScript (traced in eval mode): loads without unpickling code and exports to ONNX like any model;
    ``card`` is embedded as the extra file ``CARD_FILE``, so the model file says what it is."""
    with torch.no_grad():
        traced = torch.jit.trace(model.eval(), example, check_trace=False)
    torch.jit.save(traced, str(path), _extra_files={CARD_FILE: card.to_json()} if card else None)


def _measure(model: torch.nn.Module, example: torch.Tensor, card: ModelCard, dataset: Any) -> dict[str, Any]:
    model = make_permanent(copy.deepcopy(model))  # live unstructured masks are measured as they will be saved
    with tempfile.TemporaryDirectory() as work:
        _save_torchscript(model, example, Path(work) / "m.pt")
        size = (Path(work) / "m.pt").stat().st_size
    metrics, _ = evaluate(TorchSession(model), card, dataset)
    return model_stats(model, example) | {"size_bytes": size, "metrics": metrics, "sparsity": sparsity(model)}


def _module_source(model: str, data: str | None, source_options: dict[str, Any]) -> tuple[ModelSource, str]:
    source = load_source(model, **source_options)
    if not isinstance(source.module, torch.nn.Module) or isinstance(source.module, torch.jit.ScriptModule):
        raise EdgekitError(
            f"{model}: compress needs a PyTorch nn.Module (a built-in, a state_dict with --factory "
            "or a pickled module), not an ONNX/TorchScript/.pt2 graph"
        )
    spec = data or source.card.dataset
    if spec is None:
        raise DataError("pass --data: compress evaluates every step on the val split")
    return source, spec


def _epochs_per_round(total: int, rounds: int) -> list[int]:
    """Split ``total`` distillation epochs over ``rounds``; the last round takes the remainder."""
    share = total // rounds
    return [share] * (rounds - 1) + [total - share * (rounds - 1)]


def prune_round(
    student: torch.nn.Module,
    example: torch.Tensor,
    options: PruneOptions,
    k: int,
    base_macs: int,
    idle: Sequence[torch.nn.Module] = (),
    gradients: Gradients | None = None,
) -> PruneOptions | None:
    """Prune round ``k`` of ``options.steps``: cumulatively ``ratio * k / steps`` of the original MACs/channels.

    Returns what was applied, or ``None`` when an earlier round already got there (``round_to`` makes steps
    coarse on narrow layers).
    """
    goal = 1 - options.ratio * k / options.steps
    if options.by == "macs":
        ratio = 1 - goal * base_macs / model_stats(student, example)["macs"]
    else:
        ratio = 1 - goal / (1 - options.ratio * (k - 1) / options.steps)
    if ratio <= 0.005:
        return None
    this_round = dataclasses.replace(options, ratio=ratio, steps=1)
    prune_structured(student, example, this_round, idle, gradients)
    return this_round


def find_idle(student: torch.nn.Module, source: ModelSource, plan: CompressPlan, data: str) -> IdleOutputs | None:
    """Idle outputs of a detector on ``PROBE_IMAGES`` unlabelled images (``student`` becomes its prunable form);
    None when not pruning a detector, ``--keep-idle`` was given, or there are no unlabelled images."""
    if not (plan.prune and plan.prune.thin_idle and TASKS[source.card.task].thins_idle_outputs):
        return None
    canvases = probe_images(source.card.preprocessing, PROBE_IMAGES, data, plan.images)
    if canvases is None:
        return None
    batch = normalised_batch(
        canvases,
        np.arange(len(canvases)),
        np.zeros(len(canvases), bool),
        source.card.preprocessing,
        torch.device("cpu"),
    )
    return idle_layers(make_prunable(student), batch, len(source.card.class_names))


def _distill_round(
    teacher: torch.nn.Module,
    student: torch.nn.Module,
    source: ModelSource,
    options: DistillOptions,
    images: Images,
    per_epoch: int,
    checkpoint: Path,
    progress: StepCallback | None,
    mode: str | None,
    after_backward: Callable[[torch.nn.Module], None] | None = None,
) -> dict[str, Any]:
    start = time.perf_counter()
    card = source.card
    criterion, loss_name = (
        task_criterion(student, card.task, len(card.class_names), card.preprocessing.size)
        if mode == "labels"
        else (None, "distillation only")
    )
    seconds: list[float] = []
    history = distill(
        teacher,
        student,
        images,
        card.preprocessing,
        card.task,
        len(card.class_names),
        options,
        checkpoint=checkpoint,
        on_step=progress,
        criterion=criterion,
        epoch_seconds=seconds,
        after_backward=after_backward,
    )
    return {
        "step": "recover" if mode == "labels" else "distill",
        **asdict(options),
        "recovered_with": mode,
        "task_loss": loss_name,
        "images_per_epoch": per_epoch,
        "new_images_every_epoch": callable(images),
        "loss": history,
        "epoch_seconds": seconds,
        "seconds": time.perf_counter() - start,
    }


def _round_images(
    mode: str | None, images: Images | None, data: str | None, card: ModelCard, count: int, epochs_done: int
) -> Images:
    """This round's training images: a fixed set as it is; a stream continued where the last round stopped."""
    if images is not None and not callable(images):
        return images
    if data is None:
        raise DataError("recovery has no training images: give --data or --images")
    if mode == "labels":
        return labelled_images(data, card.preprocessing, count, first_epoch=epochs_done)[0]
    return training_stream(data, card.preprocessing, count, first_epoch=epochs_done)


def compress_model(
    model: str,
    plan: CompressPlan,
    out: Path,
    data: str | None = None,
    force: bool = False,
    log: Any = print,
    progress: StepCallback | None = None,
    source_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``plan`` on ``model``; write ``out`` (TorchScript, its model card embedded); return the report.

    ``source_options`` go to ``load_source`` (``task``, ``imgsz``, ``factory``, ``trust``) for user models.
    Steps run in a fixed order: structured pruning, unstructured pruning, distillation, dynamic quantization;
    each is measured (params, MACs, file size, sparsity, val metrics) right after it.
    """
    plan.validate()
    check_replaceable(out, force)
    source, data_spec = _module_source(model, data, source_options or {})
    one_head = getattr(source.module, "drop_unused_head", None)
    if callable(one_head):  # a detector with two heads keeps the one compress can prune and train
        one_head()
    if plan.images is not None:
        folder_images(plan.images)  # an empty folder fails before any work
    val = resolve_dataset(data_spec, "val")
    card = source.card.with_changes(class_names=source.card.class_names or list(val.class_names), dataset=data_spec)
    source = dataclasses.replace(source, card=card)
    example = torch.zeros(1, 3, card.preprocessing.size, card.preprocessing.size)
    teacher = source.module.eval()
    if plan.prune:
        check_traceable(teacher, example)  # an untraceable model fails before any tracing, measuring or writing
    student = copy.deepcopy(teacher)
    if callable(getattr(student, "native_checkpoint", None)):
        check_replaceable(_native_path(out, student), force)
    # the recovery images are read before anything is measured: a broken one fails in seconds, not after scoring
    mode = recovery_mode(plan.distill, data_spec, plan.images) if plan.distill else None
    canvases: Images | None = None
    origin: str | None = None
    if mode == "kd":
        canvases, origin = distillation_images(source.card.preprocessing, plan.kd_images, data_spec, plan.images)
    if mode == "labels":  # a built-in dataset gives a stream (new images each epoch), a user's one fixed set
        canvases, origin = labelled_images(data_spec, card.preprocessing, plan.kd_images)
    before = _measure(student, example, card, val)
    steps: list[dict[str, Any]] = []

    def record(step: dict[str, Any], counts: dict[str, int] | None = None) -> None:
        steps.append(step | _measure(student, example, card, val) | (counts or {}))
        log(f"{step['step']}: {steps[-1]['macs'] / before['macs']:.2f}x MACs, metrics {steps[-1]['metrics']}")

    epochs_done = 0
    rounds = plan.prune.steps if plan.prune else 1
    sparse_epochs = plan.prune.sparsity_epochs if plan.prune and plan.distill else 0
    epochs = _epochs_per_round(plan.distill.epochs - sparse_epochs, rounds) if plan.distill else []
    base_macs = before["macs"]
    idle = find_idle(student, source, plan, data_spec)  # on the original network's outputs
    idle_layers = idle.layers if idle else ()
    checkpoint = out.with_name(out.name + ".ckpt")
    if plan.act:  # before pruning, so pruning ranks the channels of the network that will be kept
        record({"step": "rewrite", "act": plan.act, "replaced": replace_activations(student, plan.act)})
    if plan.pad:
        record({"step": "rewrite", "pad": plan.pad, "replaced": same_padding(student)})
    gradients = (
        importance_gradients(student, card, data_spec, plan.images, plan.prune.importance) if plan.prune else None
    )
    if sparse_epochs and plan.prune and plan.distill:  # train towards sparse channel groups, then prune
        regularize = sparsity_regularizer(student, example, plan.prune, idle_layers)
        options = dataclasses.replace(plan.distill, epochs=sparse_epochs)
        images = _round_images(mode, canvases, data_spec, card, plan.kd_images, epochs_done)
        step = _distill_round(
            teacher, student, source, options, images, plan.kd_images, checkpoint, progress, mode, regularize
        )
        record(step | {"step": "sparsity", "sparsity_reg": plan.prune.sparsity_reg, "images_from": origin})
        epochs_done += sparse_epochs
    for k in range(1, rounds + 1):
        if plan.prune:
            start = time.perf_counter()
            applied = prune_round(student, example, plan.prune, k, base_macs, idle_layers, gradients)
            if applied:
                record(
                    {"step": "prune", "round": k, **asdict(applied), "seconds": time.perf_counter() - start}
                    | (idle.summary() if idle and k == 1 else {})
                )
        if plan.unstructured and k == rounds:  # masks stay live through distillation, permanent after it
            prune_unstructured(student, plan.unstructured, permanent=not plan.distill)
            record({"step": "unstructured", "ratio": plan.unstructured})
        if plan.distill:
            options = dataclasses.replace(plan.distill, epochs=epochs[k - 1])
            images = _round_images(mode, canvases, data_spec, card, plan.kd_images, epochs_done)
            step = _distill_round(teacher, student, source, options, images, plan.kd_images, checkpoint, progress, mode)
            record(step | {"round": k, "images_from": origin})
            epochs_done += options.epochs
    if plan.unstructured and plan.distill:
        make_permanent(student)
    if plan.dynamic_quant:
        counts = model_stats(student, example)  # same architecture; quantized Linear weights are no Parameters
        student, layers = quantize_dynamic(student)
        record({"step": "dynamic_quant", "linear_layers": layers}, counts)
    after = steps[-1]
    recovery = [step for step in steps if step["step"] in ("distill", "recover", "sparsity")]
    document = {
        "schema": 1,
        "model": model,
        "task": source.card.task,
        "dataset": data_spec,
        "before": before,
        "after": {k: after[k] for k in before},
        "steps": steps,
        "recovery_seconds": sum(step["seconds"] for step in recovery),
        "recovery_epoch_seconds": [s for step in recovery for s in step["epoch_seconds"]],
    }
    native = getattr(student, "native_checkpoint", None)
    if callable(native):  # the source framework's own file too, so the user can keep training the small model
        document["native_checkpoint"] = str(_native_path(out, student))
        with atomic_file(_native_path(out, student)) as tmp:
            torch.save(native(), tmp)
    with atomic_file(out) as tmp:
        _save_torchscript(student, example, tmp, card)
    return document


def _native_path(out: Path, model: torch.nn.Module) -> Path:
    return out.with_name(out.stem + getattr(model, "native_suffix", "-native.pt"))


def write_report(document: dict[str, Any], path: Path) -> None:
    """Write the compress report JSON atomically, with its provenance block (command, source, versions,
    machine, load)."""
    from ..provenance import provenance

    document = {"provenance": provenance()} | document
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
