"""Where a detector's ORT INT8 loss lies: the drop with one part of the network kept float at a time.

    python benchmarks/yolo26/int8_float_parts.py MODEL.onnx [--target ort-int8] [--out JSON] [--smoke]
        [--by-module [N]]

Each part is a set of ONNX node names found on the graph by name and op type (Ultralytics' module names); each
export keeps that part float on top of the target's defaults (the decode tail and the head's last convolutions),
and all are scored in one bench with ``--preset ultralytics`` on the same images. Accuracy only: the bench times
2 runs of each artifact, not a speed figure.

Parts: ``decode tail only`` (``float_head_convs=false``, the default before), ``defaults`` (decode tail and the
head's last convolutions), then on top of them: ``class branch`` / ``box branch`` (the head's ``cv3`` / ``cv2``
convolutions and activations), ``whole head``, ``attention`` (every node of the PSA blocks), ``SiLU`` (every
Sigmoid and Mul outside attention).
With ``--by-module N``, the parts are instead Ultralytics' modules (``/model.<i>/``), N consecutive ones at a
time, each kept float on top of the defaults: where along the network the loss that remains comes from.
The 640 px YOLO26n one-to-many ONNX gave ``int8-640-float-parts.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import edgekit
from edgekit.convert.graph_remedies import head_output_convs
from edgekit.fsutil import write_text_atomic
from edgekit.provenance import provenance

HERE = Path(__file__).resolve().parent


def float_parts(onnx_path: Path) -> dict[str, dict[str, Any]]:
    """Each part's name -> the target options that keep it float (beside the decode tail)."""
    import onnx

    nodes = onnx.load(str(onnx_path)).graph.node
    convs = head_output_convs(onnx_path)
    found = re.match(r"(.*?/)(one2one_)?cv\d", convs[0]) if convs else None
    head = found.group(1) if found else "\0"
    in_head = [n.name for n in nodes if n.name.startswith(head)]

    def branch(kind: str) -> list[str]:
        return [name for name in in_head if re.match(rf"(one2one_)?{kind}\.", name[len(head) :])]

    attention = [n.name for n in nodes if "/attn/" in n.name]
    attention_products = [n.name for n in nodes if n.op_type in ("MatMul", "Softmax")]
    silu = [n.name for n in nodes if n.op_type in ("Sigmoid", "Mul") and "/attn/" not in n.name]
    parts = {
        "decode tail only": {"float_head_convs": False},
        "defaults": {},
        "class branch": {"exclude_nodes": branch("cv3")},
        "box branch": {"exclude_nodes": branch("cv2")},
        "whole head": {"exclude_nodes": in_head},
        "attention": {"exclude_nodes": attention},
        "attention's MatMul and Softmax": {"exclude_nodes": attention_products},
        "SiLU": {"exclude_nodes": silu},
    }
    return {name: options for name, options in parts.items() if options.get("exclude_nodes", True)}


def module_parts(onnx_path: Path, size: int) -> dict[str, dict[str, Any]]:
    """``size`` consecutive Ultralytics modules (``/model.<i>/``) per part, each part's name -> the options that keep
    its nodes float; modules without a node to quantize (Upsample, Concat alone) still count in the ranges."""
    import onnx

    by_module: dict[int, list[str]] = {}
    for node in onnx.load(str(onnx_path)).graph.node:
        found = re.search(r"/model\.(\d+)/", node.name)  # Ultralytics' own export, or edgekit's (/model/model.0/)
        if found:
            by_module.setdefault(int(found.group(1)), []).append(node.name)
    parts: dict[str, dict[str, Any]] = {"defaults": {}}
    indices = sorted(by_module)
    for start in range(0, len(indices), size):
        chunk = indices[start : start + size]
        names = [name for index in chunk for name in by_module[index]]
        label = f"module {chunk[0]}" if len(chunk) == 1 else f"modules {chunk[0]}-{chunk[-1]}"
        parts[label] = {"exclude_nodes": names}
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a detector's ONNX (YOLOv8 convention)")
    parser.add_argument("--target", default="ort-int8", help="an INT8 target with an exclude_nodes option")
    parser.add_argument("--out", type=Path, default=HERE / "int8-640-float-parts.json")
    parser.add_argument("--smoke", action="store_true", help="8 calibration images, edgekit's own evaluation")
    parser.add_argument(
        "--by-module", type=int, nargs="?", const=1, metavar="N", help="parts: N consecutive modules at a time"
    )
    args = parser.parse_args()
    sizes = {"calib_images": 8} if args.smoke else {}
    parts = module_parts(args.model, args.by_module) if args.by_module else float_parts(args.model)
    with tempfile.TemporaryDirectory(prefix="edgekit-float-parts-") as work:
        (parent,) = edgekit.export(str(args.model), ["onnx-fp32"], Path(work) / "fp32", data="shapes-det")
        paths, names = [parent.path], ["fp32"]
        for index, (name, options) in enumerate(parts.items()):
            (row,) = edgekit.export(
                str(args.model), [args.target], Path(work) / str(index), data="shapes-det",
                overrides={args.target: options}, **sizes,
            )  # fmt: skip
            if row.status != "ok":
                raise SystemExit(f"{name}: {row.status}")
            paths.append(row.path)
            names.append(name)
        timing = {"runs": 2, "warmup": 1, "min_seconds": 0.0, "rounds": 1}
        preset = None if args.smoke else "ultralytics"
        document = edgekit.benchmark(paths, data="shapes-det", preset=preset, **timing).to_dict()
    fp32 = document["results"][0]["metrics"]["map50_95"]
    summary = {
        name: {
            "nodes_float": len(parts[name].get("exclude_nodes", [])),
            "map50_95": row["metrics"]["map50_95"],
            "drop_pts": round((fp32 - row["metrics"]["map50_95"]) * 100, 2),
        }
        for name, row in zip(names[1:], document["results"][1:])
    }
    report = {
        "provenance": provenance(),
        "model": args.model.name,
        "target": args.target,
        "fp32_map50_95": fp32,
        "summary": summary,
        "bench": document,
    }
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
