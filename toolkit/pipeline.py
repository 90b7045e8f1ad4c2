"""``edgekit pipeline RECIPE``: compress -> export -> bench from one TOML/YAML file, into one output directory.

A recipe::

    model = "nano-det"
    data = "shapes-det"
    output = "runs/nano-det-p50"

    [compress]                 # the options of ``edgekit compress``
    prune = 0.5
    prune_by = "macs"
    distill = true
    epochs = 10

    [export]
    targets = ["onnx-fp32", "ort-int8", "openvino-int8"]
    compare_original = true    # also export the uncompressed model and bench both in the same run

    [bench]                    # the options of ``edgekit bench``
    threads = 2

Everything is written into a temporary directory that becomes ``output`` only when every stage succeeded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import tomlread
from .bench.options import RECIPE_KEYS, BenchOptions
from .compress.options import PLAN_KEYS, CompressOptions
from .data import DEFAULT_CALIBRATION_IMAGES
from .errors import EdgekitError, first_line
from .fsutil import atomic_dir, atomic_file, check_replaceable
from .models.builtins import BUILTIN_MODELS
from .optionspec import check_value_types, first_wrong_type
from .results import ResultsDocument
from .schema import check_nesting
from .yamlread import load_yaml

PIPELINE_MARKER = "pipeline.json"
_TOP_KEYS = {"model", "data", "output", "trust", "compress", "export", "bench"}
_COMPRESS_KEYS = set(PLAN_KEYS)
_EXPORT_KEYS = {"targets", "compare_original", "calib_images", "max_drop"}
_BENCH_KEYS = set(RECIPE_KEYS)
#: [export] values whose Python conversion would accept the wrong type silently (``bool("false")`` is True);
#: [compress] values are checked against ``CompressOptions``' own field types
_EXPORT_TYPES: dict[str, tuple[type, ...]] = {
    "compare_original": (bool,),
    "calib_images": (int,),
    "max_drop": (int, float),
    "targets": (str, list),
}


def _check_export_types(values: dict[str, Any]) -> dict[str, Any]:
    """One line naming the first value of the wrong type in a recipe's [export] table."""
    wrong = first_wrong_type(_EXPORT_TYPES, values)
    if wrong is not None:
        key, value, expected = wrong
        raise EdgekitError(f"recipe [export] {key} must be {' or '.join(k.__name__ for k in expected)}, got {value!r}")
    return values


@dataclass(frozen=True)
class Recipe:
    """A parsed, validated pipeline recipe; relative paths are relative to the recipe file."""

    model: str
    output: Path
    data: str | None = None
    compress: dict[str, Any] = field(default_factory=dict)
    targets: tuple[str, ...] = ("onnx-fp32",)
    compare_original: bool = True
    calib_images: int = DEFAULT_CALIBRATION_IMAGES
    #: accuracy budget of every INT8 target, in points (``edgekit export --max-drop``)
    max_drop: float | None = None
    bench: dict[str, Any] = field(default_factory=dict)
    #: the recipe file itself: ``output`` may never be its folder or an ancestor of it
    path: Path | None = None
    #: load a ``model`` file that runs code when loaded (pickle, TorchScript, .pt2), like ``--trust``
    trust: bool = False


def check_table(table: Any, where: str, allowed: set[str], kind: str = "recipe") -> dict[str, Any]:
    """``table`` as a dict holding only ``allowed`` keys; otherwise one line: ``kind: ... in where ...``."""
    if not isinstance(table, dict):
        raise EdgekitError(f"{kind}: {where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise EdgekitError(
            f"{kind}: unknown key(s) in {where}: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )
    return dict(table)


def _check_keys(section: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    return check_table(table, f"[{section}]", allowed)


def read_recipe_file(path: Path, kind: str = "recipe") -> dict[str, Any]:
    """A TOML or YAML file's top-level table (a recipe, a sweep file); one ``EdgekitError`` if it does not parse."""
    if not path.is_file():
        raise EdgekitError(f"{kind} not found: {path}")
    try:
        check_nesting(path.read_bytes(), f"{kind} {path}")
        if path.suffix == ".toml":
            return tomlread.loads(path.read_bytes().decode())
        if path.suffix in (".yaml", ".yml"):
            loaded = load_yaml(path.read_bytes(), f"{kind} {path}")
            return loaded if isinstance(loaded, dict) else {}
    except (tomlread.TOMLDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:
        raise EdgekitError(f"{kind} {path} does not parse: {first_line(exc)}") from None
    raise EdgekitError(f"{kind} must be .toml, .yaml or .yml: {path}")


def load_recipe(path: Path, trusted: bool = False) -> Recipe:
    """Read and validate a recipe file; its ``trust = true`` holds only when the caller ``trusted`` it too (the
    command line's ``--trust``): a file someone handed over cannot switch off the pickle check by itself."""
    raw = _check_keys("top level", read_recipe_file(path), _TOP_KEYS)
    for key in ("model", "output"):
        if not isinstance(raw.get(key), str):
            raise EdgekitError(f"recipe: '{key}' is required (a string)")
    base = path.parent
    model = raw["model"]
    if model not in BUILTIN_MODELS and (base / model).exists():  # a built-in name wins, as on the command line
        model = str(base / model)
    compress = _check_keys("compress", raw.get("compress", {}), _COMPRESS_KEYS)
    check_value_types(CompressOptions, compress, "recipe [compress]")
    if "images" in compress:
        compress["images"] = str(base / compress["images"])
    export = _check_export_types(_check_keys("export", raw.get("export", {}), _EXPORT_KEYS))
    targets = export.get("targets", ["onnx-fp32"])
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(raw.get("trust", False), bool):
        raise EdgekitError("recipe: 'trust' must be true or false")
    if raw.get("trust") and not trusted:
        raise EdgekitError(
            f"recipe {path} sets trust = true: its model runs code when loaded; pass --trust to confirm you trust it"
        )
    if not raw["output"].strip():
        raise EdgekitError("recipe: 'output' must name a directory (it is replaced as a whole on --force)")
    return Recipe(
        model=model,
        output=base / raw["output"],
        data=raw.get("data"),
        compress=compress,
        targets=tuple(targets),
        compare_original=bool(export.get("compare_original", True)),
        calib_images=int(export.get("calib_images", DEFAULT_CALIBRATION_IMAGES)),
        max_drop=export.get("max_drop"),
        bench=_check_keys("bench", raw.get("bench", {}), _BENCH_KEYS),
        path=path,
        trust=raw.get("trust", False),
    )


def compress_plan(options: dict[str, Any]) -> Any:
    """A ``CompressPlan`` from a recipe's [compress] table (the ``edgekit compress`` option names and defaults)."""
    from .compress.options import plan_from_options

    return plan_from_options(options)


def compare_to_original(
    document: ResultsDocument, compressed: list[Path], original: list[Path]
) -> list[dict[str, Any]]:
    """Per target benched for both models: compressed over original p50 and size, and the metric change."""
    by_path = {Path(row.artifact).resolve(): row for row in document.rows}
    pairs = []
    for mine, theirs in zip(compressed, original):
        a, b = by_path.get(mine.resolve()), by_path.get(theirs.resolve())
        if not a or not b or not a.ok or not b.ok or a.latency is None or b.latency is None:
            continue
        if not a.size_bytes or not b.size_bytes:
            continue
        pairs.append(
            {
                "target": a.target,
                "p50_ratio": a.latency.p50 / b.latency.p50,
                "size_ratio": a.size_bytes / b.size_bytes,
                "metric_change": {k: v - b.metrics[k] for k, v in a.metrics.items()},
            }
        )
    return pairs


def _inputs(recipe: Recipe) -> list[Path]:
    """Every file or folder the recipe reads: ``output`` may hold none of them (``--force`` would delete it)."""
    named = [recipe.path, recipe.model, recipe.data, recipe.compress.get("images")]
    return [Path(p) for p in named if p is not None and Path(p).exists()]


def _check_pipeline_output(output: Path) -> None:
    """An existing ``output`` is replaced only if its ``pipeline.json`` is one edgekit wrote (a summary with its
    schema, model and targets), not any file of that common name."""
    marker = output / PIPELINE_MARKER
    if not marker.is_file():
        return
    try:
        summary = json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        summary = None
    if not (
        isinstance(summary, dict)
        and summary.get("schema") == 1
        and isinstance(summary.get("targets"), list)
        and "model" in summary
    ):
        raise EdgekitError(f"refusing to replace {output}: its {PIPELINE_MARKER} is not an edgekit pipeline summary")


def run_pipeline(recipe: Recipe, force: bool, console: Any, progress: Any = None) -> dict[str, Any]:
    """Run every stage of ``recipe``; returns the summary also written to ``output/pipeline.json``."""
    from .bench.run import run_bench
    from .compress.run import compress_model, write_report
    from .convert.run import export_model

    plan = compress_plan(recipe.compress) if recipe.compress else None
    if plan:
        plan.validate()
    protect = _inputs(recipe)
    check_replaceable(recipe.output, force, PIPELINE_MARKER, protect)  # before hours of work, not after
    _check_pipeline_output(recipe.output)
    with atomic_dir(recipe.output, force, marker=PIPELINE_MARKER, protect=protect) as work:
        model = recipe.model
        summary: dict[str, Any] = {"schema": 1, "model": recipe.model, "targets": list(recipe.targets)}
        if plan:
            model = str(work / "compressed.pt")
            report = compress_model(
                recipe.model,
                plan,
                Path(model),
                recipe.data,
                log=console.print,
                progress=progress,
                source_options={"trust": recipe.trust},
            )
            write_report(report, work / "compress.json")
            summary["compress"] = {"before": report["before"], "after": report["after"]}
        label = str(recipe.output / "compressed.pt") if plan else recipe.model
        own = bool(plan)  # the compressed TorchScript was written just now, by this run: no trust flag needed
        folder = work / "artifacts" / ("compressed" if plan else "model")
        exported = _export_all(export_model, model, label, recipe, folder, trust=own or recipe.trust)
        original: list[Path] = []
        if plan and recipe.compare_original:
            original = _export_all(
                export_model, recipe.model, recipe.model, recipe, work / "artifacts" / "original", trust=recipe.trust
            )
        options = BenchOptions(data=recipe.data, **recipe.bench)
        document = run_bench(exported + original, options, None, None, console)
        failed = [f"{row.target}: {row.status}" for row in document.rows if not row.ok]
        if failed:  # nothing is committed: a half-measured pipeline must not look like a finished one
            raise EdgekitError(f"bench failed, {recipe.output} left as it was: {'; '.join(failed)}")
        summary["versus_original"] = compare_to_original(document, exported, original)
        # name the artifacts where they will be, not where they were made
        document = dataclasses.replace(
            document,
            rows=tuple(
                dataclasses.replace(row, artifact=str(recipe.output / Path(row.artifact).relative_to(work)))
                for row in document.rows
            ),
        )
        for name, content in (("results.json", document.to_dict()), (PIPELINE_MARKER, summary)):
            with atomic_file(work / name) as tmp:
                tmp.write_text(json.dumps(content, indent=2) + "\n")
    return {"summary": summary, "bench": document}


def _export_all(export_model: Any, model: str, label: str, recipe: Recipe, out: Path, trust: bool) -> list[Path]:
    rows = export_model(
        model,
        list(recipe.targets),
        out,
        data=recipe.data,
        calib_images=recipe.calib_images,
        source_label=label,
        trust=trust,
        max_drop=recipe.max_drop,
    )
    failed = [f"{row.target}: {row.status}" for row in rows if row.status != "ok"]
    if failed:
        raise EdgekitError(f"export of {model} failed: {'; '.join(failed)}")
    return [row.path for row in rows]
