"""``edgekit compress``: prune, distill and quantize a PyTorch model, and report what each step did."""

from __future__ import annotations

from pathlib import Path

import typer

from .cli_app import DISTILL_DEFAULTS, PRUNE_DEFAULTS, TASK_CHOICES, app, console
from .compress.options import KD_IMAGES, plan_from_options


@app.command()
def compress(
    model: str = typer.Argument(..., help="built-in name, or a .pt state_dict with --factory"),
    out: Path = typer.Option(
        ..., "-o", "--output", help="output TorchScript file, e.g. small.pt (edgekit export reads it as is)"
    ),
    prune: float | None = typer.Option(None, "--prune", help="structured pruning ratio in (0, 1)"),
    prune_by: str = typer.Option(PRUNE_DEFAULTS.by, "--prune-by", help="channels | macs"),
    importance: str = typer.Option(
        PRUNE_DEFAULTS.importance,
        "--importance",
        help="l1 | l2 (group magnitude) | bn | taylor | hessian (task-loss gradients: need labels)",
    ),
    round_to: int = typer.Option(PRUNE_DEFAULTS.round_to, "--round-to", help="keep channel counts multiples of this"),
    keep: list[str] = typer.Option([], "--keep", help="module name to leave unpruned (repeatable)"),
    steps: int = typer.Option(
        PRUNE_DEFAULTS.steps,
        "--steps",
        help="prune in N prune-recover cycles (gradual pruning): --epochs are shared out over them",
    ),
    keep_idle: bool = typer.Option(
        False,
        "--keep-idle",
        help="detectors: prune output branches that never score "
        "on the images like any other (default: thin them to --round-to channels)",
    ),
    act: str | None = typer.Option(
        None,
        "--act",
        help="relu: replace SiLU/Hardswish/GELU/Mish with ReLU (fuses "
        "into INT8 convs), then recover; needs --recover/--distill",
    ),
    pad: str | None = typer.Option(
        None,
        "--pad",
        help="same: TensorFlow-style SAME padding on strided convs "
        "(no PAD ops in TFLite), then recover; needs --recover/--distill",
    ),
    unstructured: float | None = typer.Option(None, "--unstructured", help="unstructured L1 ratio in (0, 1)"),
    distill: bool = typer.Option(
        False,
        "--distill",
        help="recover after pruning: distillation from the original, "
        "plus the task loss when the data has labels (see --recover)",
    ),
    recover: str | None = typer.Option(
        None,
        "--recover",
        help="auto | labels | kd (implies --distill): labels = "
        "task loss + distillation, kd = distillation alone, auto = labels when "
        "the data has a labelled train split (default)",
    ),
    ema: float | None = typer.Option(
        None, "--ema", help="recovery: end on an exponential moving average of the weights with this decay (e.g. 0.999)"
    ),
    dynamic_quant: bool = typer.Option(
        False, "--dynamic-quant", help="PyTorch dynamic int8 quantization of Linear layers"
    ),
    data: str | None = typer.Option(
        None, "--data", help="dataset: val split scores each step, train split feeds distillation"
    ),
    images: Path | None = typer.Option(None, "--images", help="folder of unlabelled images to distill on instead"),
    kd_images: int = typer.Option(KD_IMAGES, "--kd-images", help="at most this many distillation images"),
    epochs: int = typer.Option(DISTILL_DEFAULTS.epochs, "--epochs"),
    lr: float = typer.Option(DISTILL_DEFAULTS.lr, "--lr"),
    device: str = typer.Option(DISTILL_DEFAULTS.device, "--device", help="torch device for distillation, e.g. cuda"),
    imgsz: int | None = typer.Option(None, "--imgsz", help="input size (user models)"),
    task: str | None = typer.Option(None, "--task", help=f"{TASK_CHOICES} (user models)"),
    factory: str | None = typer.Option(None, "--factory", help="package.module:callable building the model"),
    trust: bool = typer.Option(
        False,
        "--trust",
        "--trust-pickle",
        help="load a file that runs code when loaded (pickle, TorchScript, .pt2) you trust",
    ),
    json_path: Path | None = typer.Option(None, "--json", help="write the report JSON here"),
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
