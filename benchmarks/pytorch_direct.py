"""The PyTorch-direct targets (ExecuTorch) beside the ONNX-based ones: accuracy drop and p50 ratio, one
interleaved bench per model, plus the per-operator profile of executorch-int8.

    # 1. in Ultralytics' venv: the committed YOLO checkpoints as torch.export programs with their cards
    python benchmarks/pytorch_direct.py --programs /tmp/pytorch-direct
    # 2. in edgekit's venv: export and bench (nano-det, nano-cls, and the .pt2 files step 1 wrote)
    python benchmarks/pytorch_direct.py --work /tmp/pytorch-direct [--yolo-data /tmp/shapes-yolo/data.yaml]
    #    or in two stages: --stage export (may share the CPU), then --stage bench on an otherwise idle machine
    # 3. in a venv with the [litert-torch] extra (it cannot join [executorch]'s): the litert-torch targets
    python benchmarks/pytorch_direct.py --work /tmp/pytorch-direct --litert
    # 4. the same with an accuracy budget (edgekit export --max-drop) for the INT8 targets
    python benchmarks/pytorch_direct.py --work /tmp/pytorch-direct --litert --max-drop 0.5

Writes ``benchmarks/pytorch_direct/<model>.{json,md}`` and ``<model>-executorch-int8-profile.json`` (step 2),
``<model>-litert.{json,md}`` (step 3), ``<model>-litert-max-drop-0.5.{json,md}`` (step 4). The YOLO
models are scored with ``--preset ultralytics`` (``yolo val``'s settings) on the 200 val images of
``yolov8n/make_data.py``'s dataset; the built-ins on their own val splits.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
OUT = HERE / "pytorch_direct"
TARGETS = ["onnx-fp32", "ort-int8", "tflite-int8", "executorch-fp32", "executorch-int8"]
LITERT_TARGETS = ["onnx-fp32", "litert-fp32", "litert-int8"]
#: benched beside the litert-torch targets when step 2 exported it: the ONNX route to LiteRT, in the same run
LITERT_COMPANIONS = ("tflite-int8",)
YOLO_MODELS = ["yolov8n-shapes", "yolo11n-shapes"]


def write_programs(folder: Path) -> None:
    """Ultralytics' venv: each committed checkpoint as a ``.pt2`` (``torch.export``) with its model card."""
    import torch
    from edgekit.card import CARD_FILE
    from edgekit.convert.sources import load_source

    folder.mkdir(parents=True, exist_ok=True)
    for name in YOLO_MODELS:
        source = load_source(str(HERE / "models" / f"{name}.pt"), trust=True)
        size = source.card.preprocessing.size
        program = torch.export.export(source.module.eval(), (torch.zeros(1, 3, size, size),), strict=False)
        torch.export.save(program, str(folder / f"{name}.pt2"), extra_files={CARD_FILE: source.card.to_json()})
        print("written", folder / f"{name}.pt2")


def _exported(out: Path, target: str) -> SimpleNamespace:
    """An earlier export stage's row for ``target``: ok when its manifest is there."""
    manifest = out / target / "edgekit.json"
    return SimpleNamespace(target=target, status="ok" if manifest.is_file() else f"not exported in {out}")


def run_model(
    model: str,
    work: Path,
    data: str | None,
    preset: str | None,
    targets: list[str] = TARGETS,
    suffix: str = "",
    max_drop: float | None = None,
    companions: tuple[str, ...] = (),
    out_dir: Path = OUT,
    smoke: bool = False,
    stage: str = "both",
) -> None:
    """Export ``model`` to ``targets``, bench those that exported in one interleaved run (with ``companions``:
    targets an earlier step exported under ``work/<model>``), profile executorch-int8 when it is one of them
    (``smoke``: 16 calibration images, one short round, no profile). ``stage`` ``export`` stops after the
    export (it may share the CPU); ``bench`` benches what an ``export`` stage left in ``work`` (timed: run it on
    an otherwise idle machine)."""
    from edgekit.api import benchmark
    from edgekit.bench.options import BenchOptions
    from edgekit.bench.profiling import profile_artifact
    from edgekit.convert.run import export_model
    from edgekit.report.files import to_markdown

    name = Path(model).stem
    out = work / f"{name}{suffix}"
    if stage == "bench":
        rows = [_exported(out, target) for target in targets]
    else:
        rows = export_model(
            model,
            targets,
            out,
            data=data,
            trust=True,
            force=True,
            max_drop=max_drop,
            **({"calib_images": 16} if smoke else {}),
        )
    print(name, {row.target: row.status for row in rows})
    if stage == "export":
        return
    done = [out / row.target for row in rows if row.status == "ok"]
    done += [work / name / c for c in companions if (work / name / c / "edgekit.json").is_file()]
    timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1} if smoke else {"rounds": 10}
    document = benchmark(done, data=data, preset=preset, **timing)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = {row.target: row.status for row in rows if row.status != "ok"}
    (out_dir / f"{name}{suffix}.json").write_text(
        json.dumps(document.to_dict() | {"export_failures": failed}, indent=2, allow_nan=False) + "\n"
    )
    (out_dir / f"{name}{suffix}.md").write_text(to_markdown(document))
    if "executorch-int8" not in targets or max_drop is not None or smoke:
        return
    profile = profile_artifact(out / "executorch-int8", BenchOptions(data=data, preset=preset), runs=30)
    (out_dir / f"{name}-executorch-int8-profile.json").write_text(json.dumps(profile, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=Path, help="Ultralytics' venv: write the YOLO .pt2 files here")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pytorch-direct"))
    parser.add_argument("--yolo-data", default="/tmp/shapes-yolo/data.yaml")
    parser.add_argument("--litert", action="store_true", help="the litert-torch targets (their own venv)")
    parser.add_argument("--max-drop", type=float, help="accuracy budget in points for the INT8 targets")
    parser.add_argument("--only", nargs="+", help="these models only (nano-det, nano-cls, yolov8n-shapes, ...)")
    parser.add_argument("--out-dir", type=Path, default=OUT, help="where the JSON and Markdown go")
    parser.add_argument("--smoke", action="store_true", help="16 calib images, one round, no profile, no TFLite")
    parser.add_argument(
        "--stage",
        choices=["both", "export", "bench"],
        default="both",
        help="export only (may share the CPU), or bench what an export stage left in --work",
    )
    args = parser.parse_args()
    keep = {"out_dir": args.out_dir, "smoke": args.smoke, "stage": args.stage}
    if args.programs:
        write_programs(args.programs)
        return
    targets, suffix, companions = (LITERT_TARGETS, "-litert", LITERT_COMPANIONS) if args.litert else (TARGETS, "", ())
    targets = [t for t in targets if t != "tflite-int8"] if args.smoke else targets  # onnx2tf: the slow one
    suffix += "" if args.max_drop is None else f"-max-drop-{args.max_drop:g}"
    for model in ("nano-det", "nano-cls"):
        if not args.only or model in args.only:
            run_model(model, args.work, None, None, targets, suffix, args.max_drop, companions, **keep)
    for name in (n for n in YOLO_MODELS if not args.only or n in args.only):
        program = args.work / f"{name}.pt2"
        if program.is_file():
            run_model(
                str(program),
                args.work,
                args.yolo_data,
                "ultralytics",
                targets,
                suffix,
                args.max_drop,
                companions,
                **keep,
            )
        else:
            print(f"skipped {name}: no {program} (run step 1 in Ultralytics' venv)")


if __name__ == "__main__":
    main()
