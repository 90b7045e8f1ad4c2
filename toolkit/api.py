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

from .card import ModelCard
from .convert.run import ExportRow
from .manifest import Artifact
from .results import BenchRow, ResultsDocument, as_document, load_results

__all__ = ["Artifact", "BenchRow", "ExportRow", "ModelCard", "ResultsDocument", "benchmark", "compress_model", "export",
           "gate_check", "load_results", "sweep", "targets"]


def export(model: str, targets: list[str], out_dir: str | Path, **options: Any) -> list[ExportRow]:
    """``edgekit export``: ``model`` to each target under ``out_dir/<target>``; one row per target.

    ``options`` are ``export_model``'s keywords: ``data``, ``imgsz``, ``task``, ``factory``, ``trust``,
    ``force``, ``calib_images``, ``overrides`` ({target: {key: value}}), ``max_drop``.
    """
    from .convert.run import export_model

    return export_model(model, list(targets), Path(out_dir), **options)


def benchmark(artifacts: list[str | Path], json_path: str | Path | None = None,
              **options: Any) -> ResultsDocument:
    """``edgekit bench``: measure artifacts in one interleaved run; returns the results document
    (``.rows``, ``.to_dict()`` for its JSON).

    ``options`` are ``BenchOptions`` fields (``data``, ``threads``, ``runs``, ``rounds``, ``preset``, ...).
    """
    from rich.console import Console

    from .bench.options import bench_options
    from .bench.run import run_bench

    return run_bench([Path(p) for p in artifacts], bench_options(**options),
                     Path(json_path) if json_path else None, None, Console(quiet=True))


def gate_check(baseline: ResultsDocument | dict[str, Any], current: ResultsDocument | dict[str, Any],
               config: str | Path | None = None, **thresholds: Any) -> tuple[bool, str]:
    """``edgekit gate``: (passed, Markdown verdict) of ``current`` results against ``baseline`` results
    (documents, or their JSON form, which is checked)."""
    from .report.gate import load_thresholds, run_gate

    return run_gate(as_document(baseline, "baseline"), as_document(current, "current"),
                    load_thresholds(Path(config) if config else None, **thresholds))


def sweep(sweep_file: str | Path, executor: str = "local", jobs: int = 1, address: str | None = None,
          store: str | Path | None = None, force: bool = False, trust: bool = False) -> dict[str, Any]:
    """``edgekit sweep``: run the grid of ``sweep_file`` (SWEEP.toml) on ``executor`` (``local`` with ``jobs``
    workers, or ``ray`` at ``address``); returns ``{"document": ResultsDocument, "summary": dict}``. The
    sub-package holding it is ``edgekit.sweeps``."""
    import dataclasses

    from .sweeps import load_sweep, run_sweep

    config = load_sweep(Path(sweep_file), trusted=trust)
    if store is not None:
        config = dataclasses.replace(config, store=Path(store))
    return run_sweep(config, executor, jobs, address, force, log=lambda *_: None)


def compress_model(model: str, out: str | Path, data: str | None = None, force: bool = False,
             **plan: Any) -> dict[str, Any]:
    """``edgekit compress``: prune / sparsify / distill / quantize ``model`` into the TorchScript file ``out`` (its
    model card embedded); returns the report (before, after, steps).

    ``plan`` takes the command's option names (``prune``, ``prune_by``, ``importance``, ``steps``, ``keep``,
    ``keep_idle``, ``unstructured``, ``distill``, ``epochs``, ``lr``, ``kd_images``, ``images``,
    ``dynamic_quant``, ...; see ``edgekit.compress.options.PLAN_KEYS``); an unknown one is an error.
    """
    from .compress.options import plan_from_options
    from .compress.run import compress_model as run_compress

    return run_compress(model, plan_from_options(plan), Path(out), data, force, log=lambda *_: None)


def targets() -> list[str]:
    """Every registered target name: built-in ones, then those installed packages declare."""
    from .registry import target_names

    return target_names()
