"""A sweep as a tree of cells: compress once per pruned model, convert many, score each artifact.

Every cell has a content key (``edgekit.sweeps.store.cell_key``) from its inputs and the keys of the cells
it was made from, so two grid points that need the same conversion share one cell. The one timing run of
the whole table is added by the driver once every artifact is scored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.builtins import BUILTIN_MODELS
from .config import Calibration, SweepConfig, model_name
from .store import Store, cell_key, content_identity


@dataclass(frozen=True)
class Cell:
    """One unit of work: ``spec`` goes to ``edgekit.sweeps.cells.run_spec`` in a worker."""

    kind: str
    key: str
    name: str
    spec: dict[str, Any]
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GridPoint:
    """One row of the sweep's table: which model variant, target and calibration, and its cells' keys."""

    model: str  # the model variant's name: "p0", "p0.3-e2"; with several models "yolo11n-p0", sizes "p0@224"
    prune: float
    epochs: int
    target: str
    calibration: str | None  # None for a float target (no calibration)
    export_key: str
    score_key: str
    compress_key: str | None = None
    source: str = ""  # the model it was made from (the sweep's model entry)
    imgsz: int | None = None  # the input size it was exported at (None: the model's own)

    @property
    def name(self) -> str:
        return f"{self.model}-{self.calibration}" if self.calibration else self.model


@dataclass
class Plan:
    """Every cell by key (in dependency order) and every grid point; ``reference`` is the reference's point."""

    cells: dict[str, Cell] = field(default_factory=dict)
    points: list[GridPoint] = field(default_factory=list)
    reference: GridPoint | None = None

    def table(self) -> list[GridPoint]:
        """The table's grid points: the reference first (once), then the grid in order."""
        if self.reference is None:
            raise ValueError("the plan was not built")
        return ([self.reference] if self.reference not in self.points else []) + self.points

    def add(self, cell: Cell) -> Cell:
        return self.cells.setdefault(cell.key, cell)


def _float_targets() -> set[str]:
    """Targets that some family names as its float member (their conversion does not calibrate)."""
    from ..registry import families

    quantized = {family.quantized for family in families().values()}
    return {family.float for family in families().values()} - quantized


def _variants(config: SweepConfig) -> list[tuple[str, float, int]]:
    """(name, prune, epochs) of each model variant: the model itself for prune 0, one per epochs otherwise."""
    out = []
    for prune in config.prune:
        if prune == 0:
            out.append(("p0", 0.0, 0))
        else:
            out += [(f"p{prune:g}-e{epochs}", prune, epochs) for epochs in config.epochs]
    return out


def variant_name(config: SweepConfig, model: str, variant: str, imgsz: int | None) -> str:
    """A grid point's model variant: the model's name when the sweep has several, ``@size`` when sizes vary."""
    prefix = f"{model_name(model)}-" if len(config.models) > 1 else ""
    return f"{prefix}{variant}" + (f"@{imgsz}" if imgsz is not None else "")


def data_identity(spec: str | None) -> str | None:
    """What a sweep's data is: a built-in name (generated identically by this edgekit version, which every key
    holds), else the identity of the dataset itself, its calibration and val splits (image count, sha256 of the
    labels), not of the file that points at it: fixing a label file must not reuse the old scores."""
    from edgekit.calibration_data.build import BUILTIN_DATASETS

    if spec is None or spec in BUILTIN_DATASETS:
        return content_identity(spec, {})
    from ..data.resolve import resolve_dataset

    splits = {split: resolve_dataset(spec, split).summary() for split in ("calib", "val")}
    text = json.dumps(splits, sort_keys=True, default=str)
    return f"dataset:{hashlib.sha256(text.encode()).hexdigest()}"


class Planner:
    """Builds the ``Plan`` of a ``SweepConfig`` against a store."""

    def __init__(self, config: SweepConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.identity = {"data": data_identity(config.data), "trust": config.trust}
        if config.head:  # a sweep without a head keeps its earlier keys
            self.identity["head"] = config.head
        self.models = {model: content_identity(model, _builtin_weights()) for model in config.models}
        self.plan = Plan()
        self.floats = _float_targets()

    def _base(self, kind: str, key: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "key": key,
            "store": str(self.store.root),
            "data": self.config.data,
            "trust": self.config.trust,
            "trust_store": self.config.trust_store,
            "head": self.config.head,
        }

    def _compress(self, model: str, prune: float, epochs: int, name: str) -> Cell:
        plan = dict(self.config.compress) | {"prune": prune, "epochs": epochs}
        key = cell_key("compress", self.identity | {"model": self.models[model], "plan": plan})
        spec = self._base("compress", key) | {"model": model, "plan": plan}
        return self.plan.add(Cell("compress", key, f"compress {name}", spec))

    def _export(
        self, model: str, source: Cell | None, target: str, variant: Calibration | None, name: str, imgsz: int | None
    ) -> Cell:
        calibration = variant.for_target(target) if variant else Calibration(calib_images=16).for_target(target)
        origin = source.key if source else self.models[model]
        size = {} if imgsz is None else {"imgsz": imgsz}  # a sweep without sizes keeps its earlier keys
        key = cell_key(
            "export",
            self.identity | {"model": self.models[model], "from": origin, "target": target} | calibration | size,
        )
        path = str(self.store.folder("compress", source.key) / "model.pt") if source else model
        spec = self._base("export", key) | {"model": path, "target": target, "label": name, **calibration, **size}
        if source:
            spec["from_store"] = source.key  # this sweep's compressed TorchScript: checked before it is loaded
        return self.plan.add(Cell("export", key, f"export {name}/{target}", spec, (source.key,) if source else ()))

    def _score(self, export: Cell, target: str, name: str) -> Cell:
        key = cell_key("score", {"artifact": export.key, "data": self.identity["data"], "bench": self._scoring()})
        artifact = self.store.folder("export", export.key) / target
        spec = self._base("score", key) | {"artifact": str(artifact), "bench": self.bench()}
        return self.plan.add(Cell("score", key, f"score {name}/{target}", spec, (export.key,)))

    def bench(self) -> dict[str, Any]:
        """The sweep's ``edgekit bench`` options for scoring and timing (its data included)."""
        return dict(self.config.bench) | ({"data": self.config.data} if self.config.data else {})

    def _scoring(self) -> dict[str, Any]:
        """The bench options that change scores (not timing ones)."""
        return {k: v for k, v in self.bench().items() if k in ("data", "preset", "threads")}

    def _point(self, at: _At, source: Cell | None, target: str, variant: Calibration | None) -> GridPoint:
        label = at.name if variant is None else f"{at.name}-{variant.name}"
        export = self._export(at.model, source, target, variant, label, at.imgsz)
        score = self._score(export, target, label)
        return GridPoint(
            at.name,
            at.prune,
            at.epochs,
            target,
            variant.name if variant else None,
            export.key,
            score.key,
            source.key if source else None,
            at.model,
            at.imgsz,
        )

    def build(self) -> Plan:
        """Every cell and grid point: per model, per model variant (one compress cell each, shared by every
        size), per size; float targets once per variant, INT8 ones per calibration variant."""
        config = self.config
        for model in config.models:
            for variant, prune, epochs in _variants(config):
                source = (
                    self._compress(model, prune, epochs, variant_name(config, model, variant, None)) if prune else None
                )
                for imgsz in config.imgsz:
                    at = _At(variant_name(config, model, variant, imgsz), model, prune, epochs, imgsz)
                    for target in config.targets:
                        variants = [None] if target in self.floats else list(config.calibration)
                        self.plan.points += [self._point(at, source, target, v) for v in variants]
        first = _At(variant_name(config, config.model, "p0", config.imgsz[0]), config.model, 0.0, 0, config.imgsz[0])
        existing = [p for p in self.plan.points if p.model == first.name and p.target == config.reference]
        calibration = None if config.reference in self.floats else config.calibration[0]
        self.plan.reference = existing[0] if existing else self._point(first, None, config.reference, calibration)
        return self.plan


@dataclass(frozen=True)
class _At:
    """Where in the grid a point lies: its variant's name, the model, prune ratio, epochs and input size."""

    name: str
    model: str
    prune: float
    epochs: int
    imgsz: int | None


def _builtin_weights() -> dict[str, Path]:
    return {name: model.weights_path for name, model in BUILTIN_MODELS.items()}


def timing_host() -> dict[str, Any]:
    """This machine as a timing's key sees it: its name, CPU model, ISA and cores."""
    import platform

    from ..manifest import host_environment

    env = host_environment()
    return {"node": platform.node(), **{k: env.get(k) for k in ("cpu", "isa", "cores")}}


def timing_cell(plan: Plan, store: Store, bench: dict[str, Any], score_keys: list[str]) -> Cell:
    """The one interleaved timing of every scored artifact (its key: theirs, the bench options and the host
    that times them: a store shared by two machines never hands one machine's timings to the other)."""
    artifacts = [plan.cells[key].spec["artifact"] for key in score_keys]
    key = cell_key("timing", {"scores": score_keys, "bench": bench, "host": timing_host()})
    spec = {"kind": "timing", "key": key, "store": str(store.root), "artifacts": artifacts, "bench": bench}
    return Cell("timing", key, f"timing of {len(artifacts)} artifacts", spec, tuple(score_keys))
