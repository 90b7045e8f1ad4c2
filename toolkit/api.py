"""The public Python API: what ``from edgekit import ...`` gives, the same calls the CLI makes.

    import edgekit
    rows = edgekit.export("nano-det", ["onnx-fp32", "ort-int8"], "out")
    results = edgekit.benchmark(["out/onnx-fp32", "out/ort-int8"], rounds=3)
    passed, verdict = edgekit.gate_check(baseline_results, results)

Targets from other packages register through the ``edgekit.targets`` entry-point group (see
``edgekit.registry``); ``edgekit.targets()`` lists every registered one. ``benchmark`` and ``gate_check`` are
not called ``bench`` and ``gate``: those names are the ``edgekit.bench`` and ``edgekit.gate`` modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .exporting import ExportRow
from .manifest import Artifact
from .results import BenchRow, ResultsDocument, as_document, load_results

__all__ = ["Artifact", "BenchRow", "ExportRow", "ResultsDocument", "benchmark", "export", "gate_check",
           "load_results", "targets"]


def export(model: str, targets: list[str], out_dir: str | Path, **options: Any) -> list[ExportRow]:
    """``edgekit export``: ``model`` to each target under ``out_dir/<target>``; one row per target.

    ``options`` are ``export_model``'s keywords: ``data``, ``imgsz``, ``task``, ``factory``, ``trust``,
    ``force``, ``calib_images``, ``overrides`` ({target: {key: value}}), ``max_drop``.
    """
    from .exporting import export_model

    return export_model(model, list(targets), Path(out_dir), **options)


def benchmark(artifacts: list[str | Path], json_path: str | Path | None = None,
              **options: Any) -> ResultsDocument:
    """``edgekit bench``: measure artifacts in one interleaved run; returns the results document
    (``.rows``, ``.to_dict()`` for its JSON).

    ``options`` are ``BenchOptions`` fields (``data``, ``threads``, ``runs``, ``rounds``, ``preset``, ...).
    """
    from rich.console import Console

    from .bench import BenchOptions
    from .bench_run import run_bench

    return run_bench([Path(p) for p in artifacts], BenchOptions(**options),
                     Path(json_path) if json_path else None, None, Console(quiet=True))


def gate_check(baseline: ResultsDocument | dict[str, Any], current: ResultsDocument | dict[str, Any],
               config: str | Path | None = None, **thresholds: Any) -> tuple[bool, str]:
    """``edgekit gate``: (passed, Markdown verdict) of ``current`` results against ``baseline`` results
    (documents, or their JSON form, which is checked)."""
    from .gate import load_thresholds, run_gate

    return run_gate(as_document(baseline, "baseline"), as_document(current, "current"),
                    load_thresholds(Path(config) if config else None, **thresholds))


def targets() -> list[str]:
    """Every registered target name: built-in ones, then those installed packages declare."""
    from .registry import target_names

    return target_names()
