"""The ``edgekit`` command line. Commands parse arguments and call the library; nothing heavy is imported here."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .bench.options import BenchOptions, physical_cores
from .compress.options import KD_IMAGES, DistillOptions, PruneOptions, plan_from_options
from .tasks.registry import task_names

from .errors import INTERNAL_EXIT_CODE, EdgekitError

try:  # typer >= 0.2x vendors click; older releases use click itself
    from typer.exceptions import TyperException as UsageProblem
except ImportError:  # pragma: no cover
    from click import ClickException as UsageProblem

TASK_CHOICES = " | ".join(task_names())
# the defaults the CLI shows are the library's
_BENCH, _PRUNE, _DISTILL = BenchOptions(), PruneOptions(0.5), DistillOptions()
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _fail(message: str, code: int) -> None:
    """Print one ``error:`` line on stderr and exit with ``code``."""
    line = " ".join(_ANSI.sub("", str(message)).split()) or "failed"
    err_console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class ErrorBoundary(typer.core.TyperGroup):
    """The one place where failures become exit codes: an ``EdgekitError`` or a usage error is one
    ``error:`` line and exit 2; anything unexpected is one ``error: internal:`` line and exit
    ``INTERNAL_EXIT_CODE`` (``--debug`` or ``EDGEKIT_DEBUG=1`` re-raises it with its traceback)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except UsageProblem as exc:  # a bad option value or a missing argument: one line, not a usage box
            _fail(exc.format_message(), 2)
        except EdgekitError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail(
                "interrupted (SIGINT/SIGTERM; outputs are replaced only when complete, so nothing was half-written)",
                130,
            )
        except Exception as exc:  # noqa: BLE001 - the boundary: one line instead of a traceback
            if ctx.params.get("debug") or os.environ.get("EDGEKIT_DEBUG"):
                raise
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            _fail(
                f"internal: {type(exc).__name__}: {detail} (a bug in edgekit; rerun with --debug for the traceback)",
                INTERNAL_EXIT_CODE,
            )


app = typer.Typer(
    cls=ErrorBoundary,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compress, export, convert and benchmark PyTorch models for edge devices.",
)


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="show the traceback of an internal error")) -> None:
    """Compress, export, convert and benchmark PyTorch models for edge devices."""


@app.command()
def models() -> None:
    """List the built-in models, datasets and export targets."""
    from edgekit.calibration_data.build import BUILTIN_DATASETS

    from .models.builtins import BUILTIN_MODELS
    from .registry import describe_families, target_names

    for spec in BUILTIN_MODELS.values():
        console.print(f"model    {spec.name:10s} {spec.card.task:9s} {spec.description}", highlight=False)
    for name in BUILTIN_DATASETS:
        console.print(f"dataset  {name}", highlight=False)
    console.print(f"targets  {', '.join(target_names())}", highlight=False)
    for line in describe_families():
        console.print(f"family   {line}", highlight=False)


@app.command()
def export(
    model: str = typer.Argument(..., help="built-in name, .onnx, TorchScript, .pt2, or state_dict .pt"),
    target: list[str] = typer.Option(
        ...,
        "--target",
        "-t",
        help="target name, family name (tflite, openvino, ort: its recommended target) or 'all' (repeatable)",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="output directory: one artifact dir per target"),
    data: Optional[str] = typer.Option(None, "--data", help="calibration data: built-in name or dataset path"),
    imgsz: Optional[int] = typer.Option(None, "--imgsz", help="input size (user models)"),
    task: Optional[str] = typer.Option(None, "--task", help=f"{TASK_CHOICES} (user models)"),
    factory: Optional[str] = typer.Option(None, "--factory", help="package.module:callable building the model"),
    trust: bool = typer.Option(
        False,
        "--trust",
        "--trust-pickle",
        help="load a file that runs code when loaded (pickle, TorchScript, .pt2) you trust",
    ),
    calib_images: int = typer.Option(128, "--calib-images", help="calibration images (seeded sample)"),
    option: list[str] = typer.Option([], "--option", help="TARGET.key=value config override (repeatable)"),
    max_drop: Optional[float] = typer.Option(
        None,
        "--max-drop",
        metavar="POINTS",
        help="accuracy budget of every INT8 target, in metric points: the "
        "most sensitive layers go back to float until the drop on held-out "
        "calibration-split images is within it",
    ),
    force: bool = typer.Option(False, "--force", help="overwrite existing artifact directories"),
) -> None:
    """Export MODEL to one or more targets; each target's failure is reported in its row."""
    from .config import parse_overrides
    from .convert.run import export_model
    from .report.tables import export_table

    def run() -> list[Any]:
        overrides: dict[str, dict[str, str]] = {}
        for key, value in parse_overrides(option).items():
            name, _, field = key.rpartition(".")
            overrides.setdefault(name, {})[field] = value
        return export_model(
            model,
            target,
            out,
            data=data,
            imgsz=imgsz,
            task=task,
            factory=factory,
            trust=trust,
            force=force,
            calib_images=calib_images,
            overrides=overrides,
            max_drop=max_drop,
        )

    rows = run()
    for row in rows:
        if row.chosen:
            console.print(f"note: {row.chosen}", highlight=False, soft_wrap=True)
    if "all" in target:
        from .registry import unavailable_targets

        for name, extra in unavailable_targets().items():
            console.print(
                f"note: all -> not {name}: its converter is not installed here (extra [{extra}])",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    console.print(export_table(rows))
    if any(row.status != "ok" for row in rows):
        raise typer.Exit(1)


@app.command()
def bench(
    artifacts: list[Path] = typer.Argument(
        ...,
        help="artifact directories (from edgekit export), or model files "
        "(.onnx, OpenVINO .xml, .tflite) and Ultralytics export folders",
    ),
    data: Optional[str] = typer.Option(None, "--data", help="evaluation data (default: the manifest's)"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="write results JSON here"),
    save_predictions: Optional[Path] = typer.Option(
        None, "--save-predictions", help="write predictions (COCO results JSON for detectors)"
    ),
    threads: Optional[int] = typer.Option(
        None, "--threads", help="inference threads (default: one per physical core; with --on, the device's)"
    ),
    runs: int = typer.Option(_BENCH.runs, "--runs", help="minimum timed runs"),
    warmup: int = typer.Option(_BENCH.warmup, "--warmup", help="warm-up runs"),
    min_seconds: float = typer.Option(_BENCH.min_seconds, "--min-seconds", help="minimum timed seconds"),
    rounds: int = typer.Option(
        _BENCH.rounds, "--rounds", min=1, help="several artifacts: time them in turn over this many rounds"
    ),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="also write a Markdown table"),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="also write a CSV"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also write a latency-vs-accuracy PNG (matplotlib)"),
    preset: Optional[str] = typer.Option(
        None, "--preset", help="detector evaluation settings: edgekit | ultralytics (yolo val's)"
    ),
    task: Optional[str] = typer.Option(None, "--task", help=f"model files without a manifest: {TASK_CHOICES}"),
    imgsz: Optional[int] = typer.Option(None, "--imgsz", help="model files without a manifest: input size"),
    profile: Optional[Path] = typer.Option(
        None, "--profile", help="also profile each artifact per operator; write that JSON here"
    ),
    on: Optional[list[str]] = typer.Option(
        None,
        "--on",
        help="bench on a device over SSH: user@host[:port] (repeat for several; its edgekit must be this version)",
    ),
    remote_python: str = typer.Option("python3", "--remote-python", help="--on: the device's Python (its venv)"),
    ssh_config: Optional[Path] = typer.Option(None, "--ssh-config", help="--on: an ssh config file (ssh -F)"),
    remote_tmp: Optional[str] = typer.Option(
        None, "--remote-tmp", help="--on: the device folder to work in (default its $TMPDIR or /tmp)"
    ),
    install_wheel: Optional[Path] = typer.Option(
        None,
        "--install-wheel",
        help="--on: install this edgekit-deploy wheel (pip wheel --no-deps . -w dist) on the device first",
    ),
) -> None:
    """Measure artifacts on their own runtimes: latency, size, memory, accuracy and drop vs FP32."""
    from .bench.run import run_bench
    from .report.tables import bench_table
    from .report.files import write_reports

    from .fsutil import check_replaceable

    options = BenchOptions(
        threads=physical_cores() if threads is None else threads,
        warmup=warmup,
        runs=runs,
        min_seconds=min_seconds,
        data=data,
        rounds=rounds,
        preset=preset,
        task=task,
        imgsz=imgsz,
    )
    for path in (markdown, csv_path, plot, profile):  # a report path that cannot be written fails before measuring
        if path is not None:
            check_replaceable(path, force=True)
    if on:
        from .bench.remote import DeviceSettings, bench_on_devices

        if save_predictions or profile:
            raise typer.BadParameter("--save-predictions and --profile run locally only, not with --on")
        if len(on) > 1 and (markdown or csv_path or plot):
            raise typer.BadParameter(
                "--markdown, --csv and --plot take one device; with several, each device's "
                "JSON is written (--json) and `edgekit report` renders it"
            )
        settings = DeviceSettings(remote_python, ssh_config, remote_tmp, install_wheel, threads)
        documents = bench_on_devices(artifacts, options, on, settings, json_path)
        if len(documents) == 1:
            name, document = next(iter(documents.items()))
            console.print(bench_table(document, title=f"on {name}"))
            write_reports(document, markdown, csv_path, plot)
        else:
            from .report.tables import devices_table

            console.print(devices_table(documents))
        if any(not row.ok for document in documents.values() for row in document.rows):
            raise typer.Exit(1)
        return
    document = run_bench(artifacts, options, json_path, save_predictions, console)
    console.print(bench_table(document))
    write_reports(document, markdown, csv_path, plot)
    if profile is not None:
        from .bench.profiling import profile_tables, write_profile

        for table in profile_tables(write_profile(document, options, profile)):
            console.print(table)
    if any(not row.ok for row in document.rows):
        raise typer.Exit(1)


@app.command()
def compress(
    model: str = typer.Argument(..., help="built-in name, or a .pt state_dict with --factory"),
    out: Path = typer.Option(
        ..., "-o", "--output", help="output TorchScript file, e.g. small.pt (edgekit export reads it as is)"
    ),
    prune: Optional[float] = typer.Option(None, "--prune", help="structured pruning ratio in (0, 1)"),
    prune_by: str = typer.Option(_PRUNE.by, "--prune-by", help="channels | macs"),
    importance: str = typer.Option(
        _PRUNE.importance,
        "--importance",
        help="l1 | l2 (group magnitude) | bn | taylor | hessian (task-loss gradients: need labels)",
    ),
    round_to: int = typer.Option(_PRUNE.round_to, "--round-to", help="keep channel counts multiples of this"),
    keep: list[str] = typer.Option([], "--keep", help="module name to leave unpruned (repeatable)"),
    steps: int = typer.Option(
        _PRUNE.steps,
        "--steps",
        help="prune in N prune-recover cycles (gradual pruning): --epochs are shared out over them",
    ),
    keep_idle: bool = typer.Option(
        False,
        "--keep-idle",
        help="detectors: prune output branches that never score "
        "on the images like any other (default: thin them to --round-to channels)",
    ),
    act: Optional[str] = typer.Option(
        None,
        "--act",
        help="relu: replace SiLU/Hardswish/GELU/Mish with ReLU (fuses "
        "into INT8 convs), then recover; needs --recover/--distill",
    ),
    pad: Optional[str] = typer.Option(
        None,
        "--pad",
        help="same: TensorFlow-style SAME padding on strided convs "
        "(no PAD ops in TFLite), then recover; needs --recover/--distill",
    ),
    unstructured: Optional[float] = typer.Option(None, "--unstructured", help="unstructured L1 ratio in (0, 1)"),
    distill: bool = typer.Option(
        False,
        "--distill",
        help="recover after pruning: distillation from the original, "
        "plus the task loss when the data has labels (see --recover)",
    ),
    recover: Optional[str] = typer.Option(
        None,
        "--recover",
        help="auto | labels | kd (implies --distill): labels = "
        "task loss + distillation, kd = distillation alone, auto = labels when "
        "the data has a labelled train split (default)",
    ),
    ema: Optional[float] = typer.Option(
        None, "--ema", help="recovery: end on an exponential moving average of the weights with this decay (e.g. 0.999)"
    ),
    dynamic_quant: bool = typer.Option(
        False, "--dynamic-quant", help="PyTorch dynamic int8 quantization of Linear layers"
    ),
    data: Optional[str] = typer.Option(
        None, "--data", help="dataset: val split scores each step, train split feeds distillation"
    ),
    images: Optional[Path] = typer.Option(None, "--images", help="folder of unlabelled images to distill on instead"),
    kd_images: int = typer.Option(KD_IMAGES, "--kd-images", help="at most this many distillation images"),
    epochs: int = typer.Option(_DISTILL.epochs, "--epochs"),
    lr: float = typer.Option(_DISTILL.lr, "--lr"),
    device: str = typer.Option(_DISTILL.device, "--device", help="torch device for distillation, e.g. cuda"),
    imgsz: Optional[int] = typer.Option(None, "--imgsz", help="input size (user models)"),
    task: Optional[str] = typer.Option(None, "--task", help=f"{TASK_CHOICES} (user models)"),
    factory: Optional[str] = typer.Option(None, "--factory", help="package.module:callable building the model"),
    trust: bool = typer.Option(
        False,
        "--trust",
        "--trust-pickle",
        help="load a file that runs code when loaded (pickle, TorchScript, .pt2) you trust",
    ),
    json_path: Optional[Path] = typer.Option(None, "--json", help="write the report JSON here"),
    force: bool = typer.Option(False, "--force", help="overwrite OUT"),
) -> None:
    """Prune (structured / unstructured), distill and quantize a PyTorch model; report what each step did."""
    from .compress.run import compress_model, write_report
    from .report.tables import compress_table, step_progress

    plan = plan_from_options(
        {
            "prune": prune,
            "prune_by": prune_by,
            "importance": importance,
            "round_to": round_to,
            "steps": steps,
            "keep": keep,
            "keep_idle": keep_idle,
            "unstructured": unstructured,
            "distill": distill,
            "recover": recover,
            "ema": ema,
            "dynamic_quant": dynamic_quant,
            "images": images,
            "kd_images": kd_images,
            "epochs": epochs,
            "lr": lr,
            "device": device,
            "act": act,
            "pad": pad,
        }
    )
    with step_progress(console, "recover") as on_step:
        document = compress_model(
            model,
            plan,
            out,
            data,
            force,
            log=console.print,
            progress=on_step,
            source_options={"task": task, "imgsz": imgsz, "factory": factory, "trust": trust},
        )
    if json_path:
        write_report(document, json_path)
    console.print(compress_table(document))


@app.command()
def report(
    results: Path = typer.Argument(..., help="results JSON from edgekit bench --json"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="write a Markdown table (GitHub job summary)"),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="write one CSV line per artifact"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="write a PNG of latency vs accuracy"),
) -> None:
    """Render a bench results JSON (or a ``--profile`` JSON) again: the table, and Markdown / CSV / PNG files."""
    from .errors import EdgekitError
    from .bench.profiling import load_profile, profile_tables, write_profile_markdown
    from .report.tables import bench_table
    from .report.files import write_reports
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
    config: Optional[Path] = typer.Option(None, "--config", help="TOML thresholds (top level and [targets.NAME])"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="also write the verdict here"),
    max_size_growth: Optional[float] = typer.Option(None, "--max-size-growth", help="percent (default 5)"),
    max_latency_growth: Optional[float] = typer.Option(None, "--max-latency-growth", help="percent (default 30)"),
    max_accuracy_drop: Optional[float] = typer.Option(None, "--max-accuracy-drop", help="points (default 1.0)"),
    max_reference_latency_growth: Optional[float] = typer.Option(
        None,
        "--max-reference-latency-growth",
        help="percent growth of the reference's p50 over the machine probe (default 50; negative: off)",
    ),
    reference: Optional[str] = typer.Option(None, "--reference", help="latency reference row (default onnx-fp32)"),
    absolute_latency: Optional[bool] = typer.Option(
        None, "--absolute-latency/--relative-latency", help="compare p50 in ms instead of as a ratio to the reference"
    ),
    max_busy_share: Optional[float] = typer.Option(
        None,
        "--max-busy-share",
        help="percent of the CPU other "
        "processes may take while timing before latency is inconclusive "
        "(default 25; 100: never)",
    ),
    max_machine_shift: Optional[float] = typer.Option(
        None,
        "--max-machine-shift",
        help="percent the machine "
        "probe may move (within the run, or from the baseline's on the "
        "same CPU) before latency is inconclusive (default 10; "
        "negative: off)",
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
    from .report.confirm import INCONCLUSIVE_EXIT_CODE
    from .report.confirm import judge
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
    )
    verdict = judge(load_results(baseline), load_results(current), thresholds, confirm=confirm)
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
    address: Optional[str] = typer.Option(
        None, "--address", help="ray executor: host:port of a running cluster (default: start one for this sweep)"
    ),
    store: Optional[Path] = typer.Option(
        None,
        "--store",
        help="where finished cells are kept (every Ray node "
        "must see it); overrides the file's store; default $EDGEKIT_CACHE/"
        "sweep-store",
    ),
    force: bool = typer.Option(False, "--force", help="replace the sweep's output directory"),
    trust: bool = typer.Option(False, "--trust", help="confirm a sweep file's trust = true"),
) -> None:
    """Compress x export x calibrate a model over a grid: one table, a Pareto plot, resumable, local or Ray."""
    import dataclasses

    from .report.tables import bench_table
    from .sweeps import load_sweep, run_sweep

    config = load_sweep(sweep_file, trusted=trust)
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


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: temporaries removed, an output set aside put back


def main() -> None:
    """Console-script entry point; SIGTERM (``docker stop``, a CI timeout) is handled like Ctrl-C."""
    signal.signal(signal.SIGTERM, _terminated)
    app()


if __name__ == "__main__":
    main()
