"""The public Python API: what ``from edgekit import ...`` gives, the same calls the CLI makes.

    import edgekit
    rows = edgekit.export("nano-det", ["onnx-fp32", "ort-int8"], "out")
    results = edgekit.benchmark(["out/onnx-fp32", "out/ort-int8"], rounds=3)   # a ResultsDocument
    passed, verdict = edgekit.gate_check(edgekit.load_results("baseline.json"), results)
    report = edgekit.compress_model("nano-det", "small.pt", prune=0.5, distill=True, epochs=4)

Targets and runtimes from other packages register through the ``edgekit.targets`` / ``edgekit.runtimes``
entry-point groups (see ``edgekit.registry``); ``edgekit.targets()`` lists every registered target.
``benchmark``, ``gate_check`` and ``compress_model`` are not called ``bench``, ``gate`` and ``compress``: those
names are sub-packages (``edgekit.bench``, ``edgekit.compress``) or modules, which would hide the functions
once imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .bench.options import BenchOptions, bench_options
from .card import ModelCard
from .compress.options import CompressOptions, CompressPlan
from .convert.run import ExportRow
from .data import DEFAULT_CALIBRATION_IMAGES
from .errors import EdgekitError
from .manifest import Artifact
from .optionspec import api_parameters, with_parameters
from .results import BenchRow, ResultsDocument, as_document, load_results

__all__ = [
    "Artifact",
    "BenchRow",
    "ExportRow",
    "ModelCard",
    "ResultsDocument",
    "benchmark",
    "compress_model",
    "export",
    "gate_check",
    "load_results",
    "sweep",
    "targets",
]


def export(
    model: str,
    targets: list[str],
    out_dir: str | Path,
    *,
    data: str | None = None,
    imgsz: int | None = None,
    task: str | None = None,
    factory: str | None = None,
    trust: bool = False,
    force: bool = False,
    calib_images: int = DEFAULT_CALIBRATION_IMAGES,
    overrides: dict[str, dict[str, Any]] | None = None,
    max_drop: float | None = None,
    head: str | None = None,
) -> list[ExportRow]:
    """``edgekit export``: ``model`` to each target under ``out_dir/<target>``; one row per target.

    ``data``: calibration / parity data (a built-in name or a path); ``imgsz``, ``task``, ``factory``: for model
    files that cannot say them; ``trust``: load a file that runs code when loaded; ``calib_images``: how many
    calibration images; ``overrides``: ``{target: {config key: value}}``; ``max_drop``: the accuracy budget in
    points of every INT8 target that can keep layers in float; ``head``: a YOLO26 checkpoint's head, ``e2e``
    (end-to-end, no NMS) or ``o2m`` (one-to-many + NMS); None: the checkpoint's own.
    """
    from .convert.run import export_model

    return export_model(
        model,
        list(targets),
        Path(out_dir),
        data=data,
        imgsz=imgsz,
        task=task,
        factory=factory,
        trust=trust,
        force=force,
        calib_images=calib_images,
        overrides=overrides,
        max_drop=max_drop,
        head=head,
    )


def benchmark(artifacts: list[str | Path], json_path: str | Path | None = None, **options: Any) -> ResultsDocument:
    """``edgekit bench``: measure artifacts in one interleaved run; returns the results document
    (``.rows``, ``.to_dict()`` for its JSON). The keywords are ``edgekit.bench.options.BenchOptions``'s fields
    (``threads=None``: one per physical core; ``count``: also count instructions per inference under valgrind).
    """
    from rich.console import Console

    from .bench.run import run_bench

    return run_bench(
        [Path(p) for p in artifacts],
        bench_options(**options),
        Path(json_path) if json_path else None,
        None,
        Console(quiet=True),
    )


with_parameters(benchmark, api_parameters(BenchOptions, with_defaults=True))


def gate_check(
    baseline: ResultsDocument | dict[str, Any],
    current: ResultsDocument | dict[str, Any],
    config: str | Path | None = None,
    *,
    max_size_growth: float | None = None,
    max_latency_growth: float | None = None,
    max_accuracy_drop: float | None = None,
    max_reference_latency_growth: float | None = None,
    reference: str | None = None,
    absolute_latency: bool | None = None,
    max_busy_share: float | None = None,
    max_machine_shift: float | None = None,
    max_instruction_growth: float | None = None,
) -> tuple[bool, str]:
    """``edgekit gate``: (passed, Markdown verdict) of ``current`` results against ``baseline`` results
    (documents, or their JSON form, which is checked). ``config``: a thresholds TOML; the keywords override it
    (``None``: the file's value, else the default; see ``edgekit.report.gate.Thresholds``)."""
    from .report.confirm import run_gate
    from .report.gate import load_thresholds

    thresholds = load_thresholds(
        Path(config) if config else None,
        max_size_growth=max_size_growth,
        max_latency_growth=max_latency_growth,
        max_accuracy_drop=max_accuracy_drop,
        max_reference_latency_growth=max_reference_latency_growth,
        reference=reference,
        absolute_latency=absolute_latency,
        max_busy_share=max_busy_share,
        max_machine_shift=max_machine_shift,
        max_instruction_growth=max_instruction_growth,
    )
    return run_gate(as_document(baseline, "baseline"), as_document(current, "current"), thresholds)


def sweep(
    sweep_file: str | Path,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
    store: str | Path | None = None,
    force: bool = False,
    trust: bool = False,
) -> dict[str, Any]:
    """``edgekit sweep``: run the grid of ``sweep_file`` (SWEEP.toml) on ``executor`` (``local`` with ``jobs``
    workers, or ``ray`` at ``address``); returns ``{"document": ResultsDocument, "summary": dict}``. The
    sub-package holding it is ``edgekit.sweeps``."""
    import dataclasses

    from .sweeps import load_sweep, run_sweep

    config = load_sweep(Path(sweep_file), trusted=trust)
    if store is not None:
        config = dataclasses.replace(config, store=Path(store))
    return run_sweep(config, executor, jobs, address, force, log=lambda *_: None)


def compress_model(
    model: str,
    out: str | Path,
    data: str | None = None,
    force: bool = False,
    *,
    plan: CompressPlan | None = None,
    **options: Any,
) -> dict[str, Any]:
    """``edgekit compress``: prune / sparsify / distill / quantize ``model`` into the TorchScript file ``out`` (its
    model card embedded); returns the report (before, after, steps).

    Either ``plan`` (an ``edgekit.compress.options.CompressPlan``) or the command's options as keywords, each
    ``None`` meaning its default: the fields of ``edgekit.compress.options.CompressOptions`` (``prune`` ratio,
    ``prune_by``, ``importance``, ``recover``, ``epochs``, ...; ``edgekit compress --help`` says what they do).
    An unknown keyword or a value of the wrong type is one ``EdgekitError``.
    """
    from .compress.options import plan_from_options
    from .compress.run import compress_model as run_compress

    given = {name: value for name, value in options.items() if value is not None}
    if plan is not None and given:
        raise EdgekitError(f"pass either plan or options ({', '.join(given)}), not both")
    return run_compress(model, plan or plan_from_options(given), Path(out), data, force, log=lambda *_: None)


with_parameters(compress_model, api_parameters(CompressOptions))


def targets() -> list[str]:
    """Every registered target name: built-in ones, then those installed packages declare."""
    from .registry import target_names

    return target_names()
