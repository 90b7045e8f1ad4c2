"""``SWEEP.toml``: one dataset, a grid of models x input sizes x compress options x targets x calibration variants.

A sweep file::

    model = "nano-det"                # or a list: the ladder, e.g. ["yolov8n.pt", "yolo11n.pt", "yolo26n.pt"]
    data = "shapes-det"
    output = "runs/nano-det-sweep"
    store = "/data/me/edgekit-store"  # optional: the content-addressed cache of finished cells (private to you)
    reference = "onnx-fp32"           # the uncompressed model's float target: every ratio is to its p50
    head = "o2m"                      # optional: a two-headed YOLO26's head, every model (o2m: the only one
                                      # compress prunes; one-headed YOLOs are o2m already)

    [grid]
    prune = [0.0, 0.3, 0.5]           # 0: the model as it is (no compress cell)
    imgsz = [256, 224, 192]           # optional: export and score every model variant at each size (as it is:
                                      # not fine-tuned there); a multiple of 32 for detectors
    epochs = [2]                      # recovery epochs of every pruned model
    targets = ["ort-int8", "openvino-int8", "tflite-int8"]

    [[grid.calibration]]              # INT8 variants; float targets ignore them
    name = "default"
    calib_images = 128

    [[grid.calibration]]
    name = "minmax-32"
    calib_images = 32
    overrides = { ort-int8 = { calibration_method = "MinMax" } }
    max_drop = 0.5                    # optional accuracy budget in points (edgekit export --max-drop)

    [compress]                        # fixed edgekit compress options of every pruned model
    prune_by = "macs"
    recover = "labels"

    [bench]                           # edgekit bench options of the one interleaved timing run
    rounds = 3

Relative paths (model, data, output, store) are relative to the sweep file; built-in names win over paths.
The first model at the first size is the reference every ratio is to; with several models or sizes every pruned
row also says whether it beats the same model at a smaller input and the other models at equal p50
(``edgekit.sweeps.dominance``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.calibration_data.build import BUILTIN_DATASETS

from ..bench.options import RECIPE_KEYS
from ..compress.options import PLAN_KEYS
from ..convert.ultralytics import HEADS
from ..data import DEFAULT_CALIBRATION_IMAGES
from ..errors import EdgekitError
from ..models.builtins import BUILTIN_MODELS
from ..pipeline import check_table, read_recipe_file
from .validate import (
    MAX_CELLS,
    check_bench,
    check_compress,
    check_models,
    check_size,
    check_sources,
    resolve_images,
)

_TOP = {"model", "data", "output", "store", "reference", "trust", "head", "grid", "compress", "bench"}
_GRID = {"prune", "epochs", "targets", "calibration", "imgsz"}
_VARIANT = {"name", "calib_images", "overrides", "max_drop"}
#: grid axes the sweep sets itself, so [compress] may not
_SET_BY_GRID = {"prune", "epochs"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class Calibration:
    """One INT8 variant: calibration images, per-target config overrides, an optional accuracy budget."""

    name: str = "default"
    calib_images: int = DEFAULT_CALIBRATION_IMAGES
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_drop: float | None = None

    def for_target(self, target: str) -> dict[str, Any]:
        """What of this variant reaches ``target``'s conversion (its key, so equal conversions are shared)."""
        return {
            "calib_images": self.calib_images,
            "overrides": self.overrides.get(target, {}),
            "max_drop": self.max_drop,
        }


@dataclass(frozen=True)
class SweepConfig:
    """A parsed, checked sweep file."""

    models: tuple[str, ...]
    output: Path
    data: str | None = None
    store: Path | None = None
    reference: str = "onnx-fp32"
    prune: tuple[float, ...] = (0.0,)
    epochs: tuple[int, ...] = (0,)
    targets: tuple[str, ...] = ()
    calibration: tuple[Calibration, ...] = (Calibration(),)
    #: input sizes to export and score at (None: each model's own)
    imgsz: tuple[int | None, ...] = (None,)
    compress: dict[str, Any] = field(default_factory=dict)
    bench: dict[str, Any] = field(default_factory=dict)
    trust: bool = False
    #: a two-headed YOLO26's head for every model (``--head`` of export and compress); None: each checkpoint's own
    head: str | None = None
    #: ``--trust`` given: a store that others own or can write is used anyway
    trust_store: bool = False
    path: Path | None = None

    @property
    def model(self) -> str:
        """The first model: the reference's."""
        return self.models[0]

    def cells(self) -> int:
        """How many result rows the grid has at most (before float targets fold their calibration variants)."""
        pruned = sum(len(self.epochs) if p > 0 else 1 for p in self.prune)
        return len(self.models) * len(self.imgsz) * pruned * len(self.targets) * len(self.calibration)


def _table(raw: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    return check_table(raw, where, allowed, "sweep")


def _list(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], default: list[Any]) -> list[Any]:
    values = raw.get(key, default)
    if not isinstance(values, list):
        values = [values]
    if not values:
        raise EdgekitError(f"sweep: [grid] {key} is empty: the grid has no cells")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, kind):
            raise EdgekitError(f"sweep: [grid] {key} holds {value!r}, not a {getattr(kind, '__name__', 'number')}")
    if len(set(map(str, values))) != len(values):
        raise EdgekitError(f"sweep: [grid] {key} repeats a value: {values}")
    return values


def _variant(raw: Any, index: int) -> Calibration:
    table = _table(raw, f"[[grid.calibration]] #{index + 1}", _VARIANT)
    name = table.get("name", "default")
    if not isinstance(name, str) or not _NAME.match(name):
        raise EdgekitError(f"sweep: calibration name {name!r} must be 1-40 letters, digits, '.', '_' or '-'")
    images = table.get("calib_images", DEFAULT_CALIBRATION_IMAGES)
    if isinstance(images, bool) or not isinstance(images, int) or not 1 <= images <= 100_000:
        raise EdgekitError(f"sweep: calibration {name!r}: calib_images must be an integer in 1..100000")
    overrides = table.get("overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise EdgekitError(f"sweep: calibration {name!r}: overrides must be {{target = {{key = value}}}}")
    budget = table.get("max_drop")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))):
        raise EdgekitError(f"sweep: calibration {name!r}: max_drop must be a number of points")
    return Calibration(name, images, overrides, None if budget is None else float(budget))


def _grid(raw: dict[str, Any]) -> tuple[tuple[float, ...], tuple[int, ...], tuple[str, ...], tuple[Calibration, ...]]:
    grid = _grid_table(raw)
    if "targets" not in grid:
        raise EdgekitError("sweep: [grid] targets is required (the grid has no cells without it)")
    prune = [float(p) for p in _list(grid, "prune", (int, float), [0.0])]
    if any(not 0 <= p < 1 for p in prune):
        raise EdgekitError(f"sweep: [grid] prune ratios must be in [0, 1): {prune}")
    epochs = _list(grid, "epochs", int, [0])
    if any(not 0 <= e <= 1000 for e in epochs):
        raise EdgekitError(f"sweep: [grid] epochs must be in 0..1000: {epochs}")
    targets = _list(grid, "targets", str, [])
    variants = [_variant(v, i) for i, v in enumerate(_list(grid, "calibration", dict, [{}]))]
    if len({v.name for v in variants}) != len(variants):
        raise EdgekitError("sweep: two [[grid.calibration]] variants share a name")
    return tuple(prune), tuple(epochs), tuple(targets), tuple(variants)


def _grid_table(raw: dict[str, Any]) -> dict[str, Any]:
    return _table(raw.get("grid"), "[grid]", _GRID) if "grid" in raw else {}


def _sizes(raw: dict[str, Any]) -> tuple[int | None, ...]:
    grid = _grid_table(raw)
    if "imgsz" not in grid:
        return (None,)
    sizes = _list(grid, "imgsz", int, [])
    if any(not 32 <= size <= 4096 for size in sizes):
        raise EdgekitError(f"sweep: [grid] imgsz must be in 32..4096: {sizes}")
    return tuple(sizes)


def _models(raw: dict[str, Any], base: Path) -> tuple[str, ...]:
    """``model``: one name or path, or a list of them (built-in names win over paths)."""
    given = raw.get("model")
    values: list[Any] = given if isinstance(given, list) else [given]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise EdgekitError("sweep: 'model' is required (a string, or a list of strings)")
    if len(set(values)) != len(values):
        raise EdgekitError(f"sweep: 'model' lists a model twice: {values}")
    models = tuple(str(v) if v in BUILTIN_MODELS or not (base / v).exists() else str(base / v) for v in values)
    names = [model_name(m) for m in models]
    if len(set(names)) != len(names):
        raise EdgekitError(f"sweep: two models share a name ({', '.join(names)}): the table could not tell them apart")
    return models


def model_name(model: str) -> str:
    """How the table names a model: a built-in name, else its file's stem."""
    return model if model in BUILTIN_MODELS else Path(model).stem


def load_sweep(path: Path, trusted: bool = False, max_cells: int = MAX_CELLS) -> SweepConfig:
    """Read and check a sweep file; every problem is one ``EdgekitError`` before anything runs (``max_cells``:
    the largest grid accepted)."""
    from ..registry import resolve_targets

    raw = _table(read_recipe_file(path, "sweep"), "the top level", _TOP)
    if not isinstance(raw.get("output"), str) or not raw["output"].strip():
        raise EdgekitError("sweep: 'output' is required (a string)")
    base = path.parent.resolve()  # absolute: cells run in other processes and on other machines
    models = _models(raw, base)
    if raw.get("trust", False) not in (True, False):
        raise EdgekitError("sweep: 'trust' must be true or false")
    if raw.get("trust") and not trusted:
        raise EdgekitError(f"sweep {path} sets trust = true: its model runs code when loaded; pass --trust")
    head = raw.get("head")
    if head is not None and head not in HEADS:
        raise EdgekitError(f"sweep: 'head' must be one of {', '.join(HEADS)} (got {head!r})")
    prune, epochs, targets, variants = _grid(raw)
    if head == "e2e" and any(p > 0 for p in prune):
        raise EdgekitError("sweep: head = 'e2e' cannot be pruned (compress keeps the one-to-many head): use 'o2m'")
    reference = raw.get("reference", "onnx-fp32")
    names = [item.name for item in resolve_targets(list(targets))]
    if not isinstance(reference, str):
        raise EdgekitError("sweep: 'reference' must name a target")
    reference = resolve_targets([reference])[0].name
    compress = _table(raw.get("compress", {}), "[compress]", set(PLAN_KEYS) - _SET_BY_GRID)
    compress = resolve_images(compress, base)
    check_compress(compress, prune, epochs)
    bench = _table(raw.get("bench", {}), "[bench]", set(RECIPE_KEYS) - {"data"})
    check_bench(bench)
    store = raw.get("store")
    if store is not None and (not isinstance(store, str) or not store.strip()):
        raise EdgekitError("sweep: 'store' must name a directory")
    output = base / raw["output"]
    if store is not None and (base / store).resolve().is_relative_to(output.resolve()):
        raise EdgekitError(f"sweep: the store {base / store} lies inside the output {output}, which is replaced")
    data = raw.get("data")
    if data is not None and not isinstance(data, str):
        raise EdgekitError("sweep: 'data' must be a string")
    if data is not None and data not in BUILTIN_DATASETS and (base / data).exists():  # beside the sweep file
        data = str(base / data)
    for model in models:
        check_sources(model, data)
    sizes = _sizes(raw)
    config = SweepConfig(
        models=models,
        output=output,
        data=data,
        store=None if store is None else base / store,
        reference=reference,
        prune=prune,
        epochs=epochs,
        targets=tuple(names),
        calibration=variants,
        imgsz=sizes,
        compress=compress,
        bench=bench,
        trust=bool(raw.get("trust", False)),
        head=head,
        trust_store=trusted,
        path=path,
    )
    check_size(config.cells(), max_cells)
    if len(models) > 1 or sizes != (None,):
        check_models(models, sizes, config.trust)
    return config
