"""``edgekit compress``: prune, distill and quantize a PyTorch model, and report what each step did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .cli_app import TASK_CHOICES, app, console
from .compress.options import CompressOptions, plan_from_options
from .optionspec import cli_parameters, with_parameters


def compress(
    model: str = typer.Argument(..., help="built-in name, or a .pt state_dict with --factory"),
    out: Path = typer.Option(
        ..., "-o", "--output", help="output TorchScript file, e.g. small.pt (edgekit export reads it as is)"
    ),
    data: str | None = typer.Option(
        None, "--data", help="dataset: val split scores each step, train split feeds distillation"
    ),
    imgsz: int | None = typer.Option(None, "--imgsz", help="input size (user models)"),
    task: str | None = typer.Option(None, "--task", help=f"{TASK_CHOICES} (user models)"),
    factory: str | None = typer.Option(None, "--factory", help="package.module:callable building the model"),
    trust: bool = typer.Option(
        False,
        "--trust",
        "--trust-pickle",
        help="load a file that runs code when loaded (pickle, TorchScript, .pt2) you trust",
    ),
    head: str | None = typer.Option(
        None,
        "--head",
        help="a YOLO26 checkpoint's head to keep: o2m (one-to-many + NMS; compress drops the end-to-end head), "
        "the only one compress can prune",
    ),
    json_path: Path | None = typer.Option(None, "--json", help="write the report JSON here"),
    force: bool = typer.Option(False, "--force", help="overwrite OUT"),
    **options: Any,
) -> None:
    """Prune (structured / unstructured), distill and quantize a PyTorch model; report what each step did."""
    from .compress.run import compress_model, write_report
    from .report.tables import compress_table, step_progress

    plan = plan_from_options(options)
    with step_progress(console, "recover") as on_step:
        document = compress_model(
            model,
            plan,
            out,
            data,
            force,
            log=console.print,
            progress=on_step,
            source_options={"task": task, "imgsz": imgsz, "factory": factory, "trust": trust, "head": head},
        )
    if json_path:
        write_report(document, json_path)
    console.print(compress_table(document))


# the compress options (edgekit.compress.options.CompressOptions) after the command's own, then registered
with_parameters(compress, cli_parameters(CompressOptions))
app.command()(compress)
