"""``edgekit report``, ``gate``, ``pipeline`` and ``sweep``: results rendered, judged, and made in bulk."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .cli_app import app, console, err_console


@app.command()
def report(
    results: Path = typer.Argument(..., help="results JSON from edgekit bench --json"),
    markdown: Path | None = typer.Option(None, "--markdown", help="write a Markdown table (GitHub job summary)"),
    csv_path: Path | None = typer.Option(None, "--csv", help="write one CSV line per artifact"),
    plot: Path | None = typer.Option(None, "--plot", help="write a PNG of latency vs accuracy"),
) -> None:
    """Render a bench results JSON (or a ``--profile`` JSON) again: the table, and Markdown / CSV / PNG files."""
    from .bench.profiling import load_profile, profile_tables, write_profile_markdown
    from .errors import EdgekitError
    from .report.files import write_reports
    from .report.tables import bench_table
    from .results import load_results

    profile = load_profile(results)
    if profile is not None:
        if csv_path or plot:
            raise EdgekitError("a profile JSON renders as tables and --markdown only")
        for table in profile_tables(profile):
            console.print(table)
        if markdown:
            write_profile_markdown(profile, markdown)
            console.print(f"written: {markdown}", highlight=False)
        return
    document = load_results(results)
    console.print(bench_table(document))
    for path in write_reports(document, markdown, csv_path, plot):
        console.print(f"written: {path}", highlight=False)


@app.command()
def gate(
    baseline: Path = typer.Option(..., "--baseline", help="results JSON of the accepted state"),
    current: Path = typer.Option(..., "--current", help="results JSON of this change"),
    config: Path | None = typer.Option(None, "--config", help="TOML thresholds (top level and [targets.NAME])"),
    markdown: Path | None = typer.Option(None, "--markdown", help="also write the verdict here"),
    max_size_growth: float | None = typer.Option(None, "--max-size-growth", help="percent (default 5)"),
    max_latency_growth: float | None = typer.Option(None, "--max-latency-growth", help="percent (default 30)"),
    max_accuracy_drop: float | None = typer.Option(None, "--max-accuracy-drop", help="points (default 1.0)"),
    max_reference_latency_growth: float | None = typer.Option(
        None,
        "--max-reference-latency-growth",
        help="percent growth of the reference's p50 over the machine probe (default 50; negative: off)",
    ),
    reference: str | None = typer.Option(None, "--reference", help="latency reference row (default onnx-fp32)"),
    absolute_latency: bool | None = typer.Option(
        None, "--absolute-latency/--relative-latency", help="compare p50 in ms instead of as a ratio to the reference"
    ),
    max_busy_share: float | None = typer.Option(
        None,
        "--max-busy-share",
        help="percent of the CPU other "
        "processes may take while timing before latency is inconclusive "
        "(default 25; 100: never)",
    ),
    max_machine_shift: float | None = typer.Option(
        None,
        "--max-machine-shift",
        help="percent the machine "
        "probe may move (within the run, or from the baseline's on the "
        "same CPU) before latency is inconclusive (default 10; "
        "negative: off)",
    ),
    max_instruction_growth: float | None = typer.Option(
        None,
        "--max-instruction-growth",
        help="the count lane (both runs benched with --count): percent growth of counted instructions per "
        "inference (default 2)",
    ),
    confirm: bool = typer.Option(
        True,
        "--confirm/--no-confirm",
        help="time the artifacts of a failed latency check "
        "again before failing (they must be where the current run benched them)",
    ),
) -> None:
    """Exit 0 when every artifact is within its thresholds, 1 on a regression, 2 on unusable input, 75 when
    latency was timed twice on a busy or speed-shifting machine (inconclusive: run it again)."""
    from .fsutil import atomic_file
    from .report.confirm import INCONCLUSIVE_EXIT_CODE, judge
    from .report.gate import load_thresholds
    from .results import load_results

    thresholds = load_thresholds(
        config,
        max_size_growth=max_size_growth,
        max_latency_growth=max_latency_growth,
        max_accuracy_drop=max_accuracy_drop,
        reference=reference,
        max_reference_latency_growth=max_reference_latency_growth,
        absolute_latency=absolute_latency,
        max_busy_share=max_busy_share,
        max_machine_shift=max_machine_shift,
        max_instruction_growth=max_instruction_growth,
    )
    verdict = judge(
        load_results(baseline), load_results(current), thresholds, confirm=confirm, base=current.resolve().parent
    )
    if markdown:
        with atomic_file(markdown) as tmp:
            tmp.write_text(verdict.markdown)
    console.print(verdict.markdown, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit({"pass": 0, "regression": 1, "inconclusive": INCONCLUSIVE_EXIT_CODE}[verdict.status])


@app.command()
def pipeline(
    recipe: Path = typer.Argument(..., help="recipe .toml/.yaml: model, data, output, [compress], [export], [bench]"),
    force: bool = typer.Option(False, "--force", help="overwrite the recipe's output directory"),
    trust: bool = typer.Option(
        False,
        "--trust",
        help="confirm a recipe's trust = true (its model file runs code "
        "when loaded): a recipe cannot grant that by itself",
    ),
) -> None:
    """Compress -> export -> bench in one reproducible command; compares against the uncompressed model."""
    from .pipeline import load_recipe, run_pipeline
    from .report.tables import bench_table, compress_table, step_progress, versus_table

    loaded = load_recipe(recipe, trusted=trust)
    with step_progress(console, "recover") as on_step:
        result = run_pipeline(loaded, force, console, progress=on_step)
    if "compress" in result["summary"]:
        console.print(compress_table(json.loads((loaded.output / "compress.json").read_text())))
    console.print(bench_table(result["bench"]))
    if result["summary"]["versus_original"]:
        console.print(versus_table(result["summary"]["versus_original"]))
    console.print(f"written: {loaded.output}", highlight=False)
    if any(not row.ok for row in result["bench"].rows):
        raise typer.Exit(1)


@app.command()
def sweep(
    sweep_file: Path = typer.Argument(
        ..., help="SWEEP.toml: model, data, output, [grid] prune/epochs/targets/calibration, [compress], [bench]"
    ),
    executor: str = typer.Option(
        "local", "--executor", help="local (a process pool) or ray (pip install 'edgekit-deploy[ray]')"
    ),
    jobs: int = typer.Option(
        1,
        "--jobs",
        min=1,
        max=256,
        help="local executor: cells run side by side (compress/convert/score; the timing run is always alone)",
    ),
    address: str | None = typer.Option(
        None, "--address", help="ray executor: host:port of a running cluster (default: start one for this sweep)"
    ),
    store: Path | None = typer.Option(
        None,
        "--store",
        help="where finished cells are kept (every Ray node "
        "must see it); overrides the file's store; default $EDGEKIT_CACHE/"
        "sweep-store",
    ),
    force: bool = typer.Option(False, "--force", help="replace the sweep's output directory"),
    trust: bool = typer.Option(
        False, "--trust", help="confirm a sweep file's trust = true; accept a store that others can write"
    ),
    max_cells: int = typer.Option(1000, "--max-cells", min=1, help="the largest grid (rows) accepted"),
) -> None:
    """Compress x export x calibrate a model over a grid: one table, a Pareto plot, resumable, local or Ray."""
    import dataclasses

    from .report.tables import bench_table
    from .sweeps import load_sweep, run_sweep

    config = load_sweep(sweep_file, trusted=trust, max_cells=max_cells)
    if store is not None:
        config = dataclasses.replace(config, store=store)
    result = run_sweep(
        config,
        executor,
        jobs,
        address,
        force,
        log=lambda line: err_console.print(line, markup=False, highlight=False, soft_wrap=True),
    )
    console.print(bench_table(result["document"]))
    console.print(f"written: {config.output} (cells {result['summary']['cells']})", highlight=False)
    if any(not row.ok for row in result["document"].rows):
        raise typer.Exit(1)
