"""Every value of a sweep file checked when it is read, before anything runs or is written (docs/sweep.md):
bench options, each pruned grid point's compress plan, the model and data paths, the calibration images
folder, per-target overrides, and the grid's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.calibration_data.build import BUILTIN_DATASETS

from ..errors import EdgekitError
from ..models.builtins import BUILTIN_MODELS

#: grids above this many rows are refused unless ``--max-cells`` raises the cap (999 x 1001 planned
#: millions of cells in memory before the first ran)
MAX_CELLS = 1000


def check_bench(bench: dict[str, Any]) -> None:
    """The ``[bench]`` table as ``edgekit bench`` would take it."""
    from ..bench.options import bench_options

    try:
        bench_options(**bench).validate()
    except (TypeError, ValueError) as exc:
        raise EdgekitError(f"sweep: [bench]: {exc}") from None
    except EdgekitError as exc:
        raise EdgekitError(f"sweep: [bench]: {exc}") from None


def check_compress(compress: dict[str, Any], prune: tuple[float, ...], epochs: tuple[int, ...]) -> None:
    """Each pruned grid point's compress plan (``[compress]`` plus its prune ratio and epochs)."""
    from ..compress.options import plan_from_options

    for ratio in (p for p in prune if p > 0):
        for count in epochs:
            plan = dict(compress) | {"prune": ratio, "epochs": count}
            try:
                plan_from_options(plan).validate()
            except (TypeError, ValueError) as exc:
                raise EdgekitError(f"sweep: [compress]: {str(exc) or type(exc).__name__}") from None
            except EdgekitError as exc:
                raise EdgekitError(f"sweep: [compress] with prune = {ratio:g}, epochs = {count}: {exc}") from None


def resolve_images(compress: dict[str, Any], base: Path) -> dict[str, Any]:
    """``[compress] images`` resolved against the sweep file's folder; it must be a folder, and not a file
    system's root (edgekit would walk everything below it)."""
    images = compress.get("images")
    if images is None:
        return compress
    if not isinstance(images, str) or not images.strip():
        raise EdgekitError("sweep: [compress] images must name a folder of images")
    folder = (base / images).resolve()
    if not folder.is_dir():
        raise EdgekitError(f"sweep: [compress] images {folder} is not a folder")
    if folder == Path(folder.anchor) or folder == Path.home().resolve():
        raise EdgekitError(f"sweep: [compress] images {folder} is a whole file system or home: name its image folder")
    return compress | {"images": str(folder)}


def check_sources(model: str, data: str | None) -> None:
    """A model or data path that is not a built-in name must exist."""
    if model not in BUILTIN_MODELS and not Path(model).exists():
        raise EdgekitError(f"sweep: model {model} does not exist (built-in models: {', '.join(BUILTIN_MODELS)})")
    if data is not None and data not in BUILTIN_DATASETS and not Path(data).exists():
        raise EdgekitError(f"sweep: data {data} does not exist (built-in datasets: {', '.join(BUILTIN_DATASETS)})")


#: the largest stride of every detector head edgekit knows (YOLO and nano-det P3-P5): letterboxed inputs must be
#: a multiple of it (a model with a larger stride refuses its own size when it is loaded)
DETECTOR_STRIDE = 32


def model_task(model: str, trust: bool) -> str:
    """A model's task: a built-in's card, else the model loaded as ``edgekit export`` loads it (host side)."""
    if model in BUILTIN_MODELS:
        return BUILTIN_MODELS[model].card.task
    from ..convert.sources import load_source

    return load_source(model, trust=trust).card.task


def check_models(models: tuple[str, ...], sizes: tuple[int | None, ...], trust: bool) -> None:
    """The ``model`` axis holds one task only, and every ``imgsz`` suits it (a letterboxed task: a multiple of
    ``DETECTOR_STRIDE``)."""
    from ..tasks.registry import TASKS

    tasks = {model: model_task(model, trust) for model in models}
    if len(set(tasks.values())) > 1:
        listed = ", ".join(f"{Path(m).name} ({t})" for m, t in tasks.items())
        raise EdgekitError(f"sweep: the model axis mixes tasks: {listed}; one table compares one task")
    task = next(iter(tasks.values()))
    if TASKS[task].resize == "letterbox":
        odd = [size for size in sizes if size is not None and size % DETECTOR_STRIDE]
        if odd:
            raise EdgekitError(
                f"sweep: [grid] imgsz {odd} is not a multiple of {DETECTOR_STRIDE}, the stride of a {task} model"
            )


def check_size(cells: int, max_cells: int) -> None:
    """Refuse a grid above ``max_cells`` rows (``--max-cells`` raises the cap)."""
    if cells > max_cells:
        raise EdgekitError(f"sweep: the grid has {cells} rows, above the cap of {max_cells}: pass --max-cells {cells}")
