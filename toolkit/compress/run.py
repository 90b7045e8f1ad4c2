"""``edgekit compress``: prune / sparsify / distill a PyTorch model and report what each step bought and cost."""

from __future__ import annotations

import copy
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..calibration import CalibrationSet
from ..datasets import resolve_dataset
from ..errors import DataError, EdgekitError
from ..evaluation import evaluate
from ..fsutil import atomic_file, refuse_existing
from ..sources import ModelSource, load_source, sidecar_path
from ..tasks.detection import DetectionDecoding
from .distill import DistillOptions, distill
from .pruning import PruneOptions, check_ratio, prune_structured, prune_unstructured, sparsity
from .stats import ModelSpec, TorchSession, model_stats

KD_IMAGES = 512


@dataclass(frozen=True)
class CompressPlan:
    """What to do, in order: structured pruning, unstructured pruning, distillation."""

    prune: PruneOptions | None = None
    unstructured: float | None = None
    distill: DistillOptions | None = None

    def validate(self) -> None:
        """Reject bad options before anything is loaded or written."""
        if self.prune:
            self.prune.validate()
        if self.unstructured is not None:
            check_ratio("unstructured", self.unstructured)
        if not (self.prune or self.unstructured or self.distill):
            raise EdgekitError("nothing to do: pass --prune, --unstructured and/or --distill")


def _save_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """TorchScript (traced in eval mode): loads without unpickling code and exports to ONNX like any model."""
    with torch.no_grad():
        traced = torch.jit.trace(model.eval(), example, check_trace=False)
    torch.jit.save(traced, str(path))


def _measure(model: torch.nn.Module, example: torch.Tensor, spec: ModelSpec, dataset: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        _save_torchscript(model, example, Path(work) / "m.pt")
        size = (Path(work) / "m.pt").stat().st_size
    metrics, _ = evaluate(TorchSession(model), spec, dataset)
    return model_stats(model, example) | {"size_bytes": size, "metrics": metrics, "sparsity": sparsity(model)}


def _module_source(model: str, data: str | None) -> tuple[ModelSource, str]:
    source = load_source(model)
    if not isinstance(source.module, torch.nn.Module) or isinstance(source.module, torch.jit.ScriptModule):
        raise EdgekitError(f"{model}: compress needs a PyTorch nn.Module (a built-in, a state_dict with --factory "
                           "or a pickled module), not an ONNX/TorchScript/.pt2 graph")
    spec = data or source.dataset
    if spec is None:
        raise DataError("pass --data: compress evaluates every step on the val split")
    return source, spec


def compress_model(model: str, plan: CompressPlan, out: Path, data: str | None = None, force: bool = False,
                   log: Any = print) -> dict[str, Any]:
    """Run ``plan`` on ``model``; write ``out`` (TorchScript + ``OUT.json`` sidecar); return the report."""
    plan.validate()
    refuse_existing(out, force)
    source, data_spec = _module_source(model, data)
    val = resolve_dataset(data_spec, "val")
    calib = resolve_dataset(data_spec, "calib")
    size = source.preprocessing.size
    example = torch.zeros(1, 3, size, size)
    spec = ModelSpec(source.task, source.preprocessing, source.class_names,
                     DetectionDecoding().to_dict() if source.task == "detect" else None)
    teacher = source.module.eval()
    student = copy.deepcopy(teacher)
    before = _measure(student, example, spec, val)
    steps: list[dict[str, Any]] = []
    if plan.prune:
        start = time.perf_counter()
        prune_structured(student, example, plan.prune)
        steps.append({"step": "prune", **asdict(plan.prune), "seconds": time.perf_counter() - start,
                      **_measure(student, example, spec, val)})
        log(f"pruned: {steps[-1]['macs'] / before['macs']:.2f}x MACs")
    if plan.unstructured:
        prune_unstructured(student, plan.unstructured)
        steps.append({"step": "unstructured", "ratio": plan.unstructured, **_measure(student, example, spec, val)})
    if plan.distill:
        samples = CalibrationSet.from_images(calib.image_paths, source.preprocessing, KD_IMAGES).as_array()
        start = time.perf_counter()
        history = distill(teacher, student, samples, source.task, len(source.class_names), plan.distill,
                          checkpoint=out.with_name(out.name + ".ckpt"),
                          on_epoch=lambda epoch, loss: log(f"distill epoch {epoch + 1}/{plan.distill.epochs}: "
                                                           f"loss {loss:.4f}"))
        steps.append({"step": "distill", **asdict(plan.distill), "images": len(samples), "loss": history,
                      "seconds": time.perf_counter() - start, **_measure(student, example, spec, val)})
    after = steps[-1] if steps else before
    document = {"schema": 1, "model": model, "task": source.task, "dataset": data_spec,
                "before": before, "after": {k: after[k] for k in before}, "steps": steps}
    with atomic_file(out) as tmp:
        _save_torchscript(student, example, tmp)
    with atomic_file(sidecar_path(out)) as tmp:
        tmp.write_text(json.dumps({"task": source.task, "preprocessing": source.preprocessing.to_dict(),
                                   "class_names": source.class_names, "dataset": data_spec}, indent=2))
    return document


def write_report(document: dict[str, Any], path: Path) -> None:
    """Write the compress report JSON atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n")
