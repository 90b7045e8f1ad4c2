"""``edgekit models``, ``export`` and ``bench``: what there is, artifacts made, artifacts measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .bench.options import BenchOptions, bench_options
from .cli_app import TASK_CHOICES, app, console
from .data import DEFAULT_CALIBRATION_IMAGES
from .optionspec import cli_parameters, with_parameters


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
    data: str | None = typer.Option(None, "--data", help="calibration data: built-in name or dataset path"),
    imgsz: int | None = typer.Option(None, "--imgsz", help="input size (user models)"),
    task: str | None = typer.Option(None, "--task", help=f"{TASK_CHOICES} (user models)"),
    factory: str | None = typer.Option(None, "--factory", help="package.module:callable building the model"),
    trust: bool = typer.Option(
        False,
        "--trust",
        "--trust-pickle",
        help="load a file that runs code when loaded (pickle, TorchScript, .pt2) you trust",
    ),
    calib_images: int = typer.Option(
        DEFAULT_CALIBRATION_IMAGES, "--calib-images", help="calibration images (seeded sample)"
    ),
    option: list[str] = typer.Option([], "--option", help="TARGET.key=value config override (repeatable)"),
    max_drop: float | None = typer.Option(
        None,
        "--max-drop",
        metavar="POINTS",
        help="accuracy budget of every INT8 target, in metric points: the "
        "target's other calibrations are tried, then the most sensitive layers "
        "go back to float, until the drop on held-out calibration-split images "
        "is within it",
    ),
    head: str | None = typer.Option(
        None,
        "--head",
        help="a YOLO26 checkpoint's head: e2e (end-to-end, top-k without NMS) or o2m (one-to-many + NMS); "
        "default: the checkpoint's own",
    ),
    force: bool = typer.Option(False, "--force", help="overwrite existing artifact directories"),
) -> None:
    """Export MODEL to one or more targets; each target's failure is reported in its row."""
    from .config import parse_overrides
    from .convert.run import export_model
    from .report.tables import export_table

    overrides: dict[str, dict[str, str]] = {}
    for key, value in parse_overrides(option).items():
        name, _, field = key.rpartition(".")
        overrides.setdefault(name, {})[field] = value
    rows = export_model(
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
        head=head,
    )
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
def program(
    model: str = typer.Argument(..., help="built-in name, Ultralytics checkpoint, TorchScript or state_dict .pt"),
    out: Path = typer.Option(..., "--out", "-o", help="the .pt2 file to write"),
    imgsz: int | None = typer.Option(None, "--imgsz", help="input size (user models)"),
    task: str | None = typer.Option(None, "--task", help=f"{TASK_CHOICES} (user models)"),
    factory: str | None = typer.Option(None, "--factory", help="package.module:callable building the model"),
    trust: bool = typer.Option(False, "--trust", help="load a file that runs code when loaded, which you trust"),
    head: str | None = typer.Option(None, "--head", help="a YOLO26 checkpoint's head: e2e or o2m"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
) -> None:
    """Save MODEL as a torch.export program (.pt2, its card inside) for `edgekit export` in another environment:
    an Ultralytics checkpoint to ExecuTorch, whose wheel does not run beside Ultralytics' torch."""
    from .convert.program import save_program

    path = save_program(model, out, imgsz=imgsz, task=task, factory=factory, trust=trust, head=head, force=force)
    console.print(f"wrote {path}", highlight=False)


def bench(
    artifacts: list[Path] = typer.Argument(
        ...,
        help="artifact directories (from edgekit export), or model files "
        "(.onnx, OpenVINO .xml, .tflite) and Ultralytics export folders",
    ),
    json_path: Path | None = typer.Option(None, "--json", help="write results JSON here"),
    save_predictions: Path | None = typer.Option(
        None, "--save-predictions", help="write predictions (COCO results JSON for detectors)"
    ),
    markdown: Path | None = typer.Option(None, "--markdown", help="also write a Markdown table"),
    csv_path: Path | None = typer.Option(None, "--csv", help="also write a CSV"),
    plot: Path | None = typer.Option(None, "--plot", help="also write a latency-vs-accuracy PNG (matplotlib)"),
    profile: Path | None = typer.Option(
        None, "--profile", help="also profile each artifact per operator; write that JSON here"
    ),
    on: list[str] | None = typer.Option(
        None,
        "--on",
        help="bench on a device over SSH: user@host[:port] (repeat for several; its edgekit must be this version)",
    ),
    remote_python: str = typer.Option("python3", "--remote-python", help="--on: the device's Python (its venv)"),
    ssh_config: Path | None = typer.Option(None, "--ssh-config", help="--on: an ssh config file (ssh -F)"),
    remote_tmp: str | None = typer.Option(
        None, "--remote-tmp", help="--on: the device folder to work in (default its $TMPDIR or /tmp)"
    ),
    install_wheel: Path | None = typer.Option(
        None,
        "--install-wheel",
        help="--on: install this edgekit-deploy wheel (pip wheel --no-deps . -w dist) on the device first",
    ),
    remote_timeout: float = typer.Option(
        3600.0, "--remote-timeout", help="--on: seconds one remote step (copy, install, bench) may take"
    ),
    **values: Any,
) -> None:
    """Measure artifacts on their own runtimes: latency, size, memory, accuracy and drop vs FP32."""
    from .bench.run import run_bench
    from .fsutil import check_replaceable
    from .report.files import write_reports
    from .report.tables import bench_table

    threads = values["threads"]  # None: one per physical core here, the device's with --on
    options = bench_options(**values)
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
        settings = DeviceSettings(remote_python, ssh_config, remote_tmp, install_wheel, threads, remote_timeout)
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


# the bench options (edgekit.bench.options.BenchOptions) after the command's own, then registered
with_parameters(bench, cli_parameters(BenchOptions))
app.command()(bench)
