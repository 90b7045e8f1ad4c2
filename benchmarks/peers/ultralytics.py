"""Peer benchmark: a committed YOLO exported by Ultralytics and by edgekit, benched in ONE interleaved run.

    YOLO_OFFLINE=1 /tmp/ul/bin/python benchmarks/yolov8n/peer_exports.py /tmp/shapes-yolo/data.yaml /tmp/peers
    python benchmarks/peers/ultralytics.py /tmp/peers            # edgekit's venv
    # YOLO11n: peer_exports.py ... /tmp/peers11 benchmarks/models/yolo11n-shapes.pt, then
    python benchmarks/peers/ultralytics.py /tmp/peers11 --model benchmarks/models/yolo11n-shapes.onnx \
        --name ultralytics-yolo11n --variant "openvino-int8 (sigmoid float)":openvino-int8:float_types=Sigmoid
    # YOLO26n at 640 px: the 640 px checkpoint's two heads exported to ONNX by edgekit (Ultralytics' venv:
    # edgekit export yolo26n-shapes-640.pt --trust [--head e2e] -t onnx-fp32 ...), peer_exports.py ... --imgsz 640,
    # edgekit's INT8 exports made under load with --export-only, then benched alone with --reuse:
    python benchmarks/peers/ultralytics.py P640/peers --model P640/o2m/onnx-fp32/model.onnx --imgsz 640 \
        --extra-model e2e=P640/e2e/onnx-fp32/model.onnx --work P640/run --reuse --rounds 5 --runs 20 \
        --min-seconds 2 --name ultralytics-yolo26n-640 --title YOLO26n

Every artifact is scored on shapes-det's 200 val images with ``--preset ultralytics`` (yolo val's settings),
its drop measured against the FP32 ONNX of the same run, its p50 as a ratio to that FP32 ONNX's p50 on
ONNX Runtime in the same run. ``--variant LABEL:TARGET:KEY=VALUE`` adds an edgekit export with one setting
changed (to compare a remedy in the same run). Writes ``benchmarks/peers/<name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import edgekit
from edgekit.fsutil import write_text_atomic
from rich.console import Console

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "models" / "yolov8n-shapes.onnx"
EDGEKIT_TARGETS = ["onnx-fp32", "ort-int8", "openvino-int8", "tflite-int8"]
#: Ultralytics export -> (label, runtime it runs on)
PEER_FILES = {
    "fp32.onnx": "ultralytics onnx fp32",
    "int8.onnx": "ultralytics onnx int8 (ORT)",
    "int8_openvino_model": "ultralytics openvino int8 (NNCF)",
    "int8.tflite": "ultralytics tflite int8",
}


def _export_peaks(labels: dict[str, str], exports: dict) -> dict[str, int]:
    """Each artifact's export peak RSS: edgekit's from its manifest, Ultralytics' from exports.json."""
    peaks = {}
    for path in labels:
        manifest = Path(path) / "edgekit.json"
        if manifest.is_file():
            peak = json.loads(manifest.read_text()).get("export_resources", {}).get("peak_rss_bytes")
        else:
            peak = exports.get("exports", {}).get(Path(path).name, {}).get("peak_rss_bytes")
        if peak:
            peaks[path] = peak
    return peaks


def _export(model: str, out: Path, reuse: bool) -> dict[str, str]:
    """edgekit's targets from ``model`` under ``out``: {artifact path: target}; with ``reuse``, artifacts an
    earlier run exported there are kept (export under load, bench on an idle machine)."""
    if reuse and all((out / target / "edgekit.json").is_file() for target in EDGEKIT_TARGETS):
        return {str(out / target): target for target in EDGEKIT_TARGETS}
    rows = edgekit.export(model, EDGEKIT_TARGETS, out, data="shapes-det", force=True)
    return {str(row.path): row.target for row in rows if row.status == "ok"}


def _gb(value: int | None) -> str:
    return "" if not value else f"{value / 1e9:.2f}"


def markdown_table(
    document: dict, labels: dict[str, str], exports: dict, yolo_val: dict[str, float], title: str, imgsz: int
) -> str:
    """The peer table of one bench document (``<name>.md``; tests/test_figures.py renders it again from the JSON
    and finds it on the page that quotes it)."""
    rows = document["results"]
    by_artifact = {row["artifact"]: row for row in rows}
    references = document["drop_reference"]
    env = document["environment"]
    peaks = document.get("export_peak_rss_bytes", {})
    lines = [
        f"### {title} (shapes-det, {imgsz} px): edgekit vs Ultralytics {exports.get('ultralytics', '')} exports",
        "",
        f"One interleaved `edgekit bench` run, {env['cpu']} ({', '.join(env.get('isa', []))}), "
        f"{env['threads']} threads, {env['latency_rounds']} rounds; scored with `--preset ultralytics` "
        "on the 200 val images; drop and p50 ratio against `onnx-fp32` (ONNX Runtime) of the same ONNX in this run; "
        "`yolo val`: Ultralytics' own score of its file (benchmarks/peers/yolo_val.json); peak RSS in GB of the "
        "process that exported the artifact (edgekit: its manifest's export_resources; Ultralytics: its export "
        "in a child process of its own) and of the bench process while it ran that artifact. Latency: the plain "
        "p50 of all timed runs, and beside it the fastest round's p50 (its spread), each over the FP32's own.",
        "",
        "| artifact | runtime | mAP50-95 | `yolo val` | drop vs FP32 (pts) | p50 ms | p50 / FP32 | fastest-round "
        "p50 / FP32 | size MB | size / FP32 | export RSS GB | bench RSS GB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        label = labels.get(row["artifact"], row["target"])
        if row["status"] != "ok":
            lines.append(f"| {label} | | | | | | | | {row['status']} | | | |")
            continue
        value, p50 = row["metrics"]["map50_95"], row["latency_ms"]["p50"]
        fp32 = by_artifact[references[row["artifact"]]]
        theirs = yolo_val.get(Path(row["artifact"]).name)
        lines.append(
            f"| {label} | {row['runtime']} | {value:.4f} | {'' if theirs is None else f'{theirs:.4f}'} "
            f"| {(fp32['metrics']['map50_95'] - value) * 100:+.2f} "
            f"| {p50:.2f} | {p50 / fp32['latency_ms']['p50']:.2f} "
            f"| {row['latency_ms']['p50_best_round'] / fp32['latency_ms']['p50_best_round']:.2f} "
            f"| {row['size_bytes'] / 1e6:.2f} | "
            f"{row['size_bytes'] / fp32['size_bytes']:.2f} | {_gb(peaks.get(row['artifact']))} "
            f"| {_gb(row.get('peak_rss_bytes'))} |"
        )
    failed = {name: info["status"] for name, info in exports.get("exports", {}).items() if info["status"] != "ok"}
    for name, status in failed.items():
        lines.append(f"\nUltralytics `{name}` not benched: its export {status}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peers", type=Path, help="OUT_DIR of benchmarks/yolov8n/peer_exports.py")
    parser.add_argument("--work", type=Path, default=Path("runs/peers"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=100, help="timed inferences per artifact per round (at least)")
    parser.add_argument("--min-seconds", type=float, default=4.0, help="timed seconds per artifact per round")
    parser.add_argument("--model", type=Path, default=MODEL, help="the ONNX edgekit exports from")
    parser.add_argument("--name", default="ultralytics", help="output stem under benchmarks/peers/")
    parser.add_argument("--variant", action="append", default=[], help="LABEL:TARGET:KEY=VALUE")
    parser.add_argument("--imgsz", type=int, default=256, help="the input size of --model (for the title)")
    parser.add_argument("--title", help="the table's model name (default: from --model)")
    parser.add_argument("--reuse", action="store_true", help="keep edgekit artifacts an earlier run left in --work")
    parser.add_argument("--export-only", action="store_true", help="export edgekit's artifacts, bench nothing")
    parser.add_argument(
        "--extra-model",
        action="append",
        default=[],
        help="NAME=ONNX: edgekit's targets from another export of "
        "the same checkpoint (YOLO26's e2e head), in the same run, its drops against its own onnx-fp32",
    )
    parser.add_argument("--render", action="store_true", help="rewrite <name>.md from <name>.json, bench nothing")
    args = parser.parse_args()
    console = Console()
    if args.render:
        document = json.loads((HERE / f"{args.name}.json").read_text())
        _write_markdown(document, document["labels"], document["peers"], args, console)
        return
    made = _export(str(args.model), args.work / "edgekit", args.reuse)
    labels = {path: f"edgekit {target}" for path, target in made.items()}
    fp32 = str(args.work / "edgekit" / "onnx-fp32")
    references = dict.fromkeys(labels, fp32)
    for spec in args.extra_model:
        name, path = spec.split("=", 1)
        made = {p: f"edgekit {name} {t}" for p, t in _export(path, args.work / name, args.reuse).items()}
        labels |= made
        references |= dict.fromkeys(made, str(args.work / name / "onnx-fp32"))
    for index, spec in enumerate(args.variant):
        label, target, setting = spec.split(":", 2)
        key, value = setting.split("=", 1)
        variant = edgekit.export(
            str(args.model),
            [target],
            args.work / f"variant{index}",
            data="shapes-det",
            force=True,
            overrides={target: {key: value}},
        )
        labels |= {str(row.path): f"edgekit {label}" for row in variant if row.status == "ok"}
    if args.export_only:
        return
    peers = [args.peers / name for name in PEER_FILES if (args.peers / name).exists()]
    labels |= {str(path): PEER_FILES[path.name] for path in peers}
    references |= dict.fromkeys(labels.keys() - references.keys(), fp32)
    document = edgekit.benchmark(
        list(labels),
        data="shapes-det",
        preset="ultralytics",
        runs=args.runs,
        min_seconds=args.min_seconds,
        rounds=args.rounds,
    ).to_dict()
    exports = json.loads((args.peers / "exports.json").read_text())
    document["peers"] = exports
    document["export_peak_rss_bytes"] = _export_peaks(labels, exports)
    document["drop_reference"] = references
    document["labels"] = labels
    write_text_atomic(HERE / f"{args.name}.json", json.dumps(document, indent=2) + "\n")
    _write_markdown(document, labels, exports, args, console)


def _write_markdown(
    document: dict, labels: dict[str, str], exports: dict, args: argparse.Namespace, console: Console
) -> None:
    """``<name>.md`` beside the JSON: the table, printed too."""
    scored = HERE / "yolo_val.json"  # Ultralytics' own scores of the YOLOv8n exports only
    reference = json.loads(scored.read_text()) if scored.is_file() and args.model == MODEL else {}
    yolo_val = {entry["model"]: entry["map50_95"] for entry in reference.get("results", [])}
    title = args.title or ("YOLOv8n" if args.model == MODEL else args.model.stem)
    markdown = markdown_table(document, labels, exports, yolo_val, title, args.imgsz)
    write_text_atomic(HERE / f"{args.name}.md", markdown)
    console.print(markdown, markup=False, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
