"""Every row of the README's Results table names the machine its timings come from, and that name is the one its
JSON records (two machines made those figures: a row may not borrow another's, nor a table hide the mix)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOT_TIMED = "— (not timed)"
#: each Results row (the start of its first cell) -> the JSON its timings come from (none: accuracy only)
SOURCES = {
    "YOLOv8n (shapes, 256 px) INT8 vs its FP32 ONNX, edgekit": ["peers/ultralytics.json"],
    "the same, Ultralytics' own exports, same run": ["peers/ultralytics.json"],
    "YOLOv8n ExecuTorch INT8": ["pytorch_direct/yolov8n-shapes.json"],
    "YOLOv8n / YOLO11n LiteRT INT8": [
        "pytorch_direct/yolov8n-shapes-litert.json",
        "pytorch_direct/yolo11n-shapes-litert.json",
    ],
    "edgekit's mAP vs `yolo val`": [],
    "pose (keypoints)": ["pose/yolov8n-pose-shapes-int8.json", "pose/yolo11n-pose-shapes-int8.json"],
    "export memory": ["memory/export-640-avx2.json"],
    "YOLO26n (shapes, 256 px, converged, one-to-many / end-to-end head) INT8 with": [
        "yolo26/int8-256-head-convs.json",
        "yolo26/int8-256-e2e-head-convs.json",
    ],
    "YOLO26n (shapes, **640 px**, one-to-many / end-to-end head) INT8 with": [
        "yolo26/int8-640-head-convs.json",
        "yolo26/int8-640-e2e-head-convs.json",
    ],
    "YOLO26n (shapes, **640 px**, one-to-many / end-to-end head) INT8 vs": ["peers/ultralytics-yolo26n-640.json"],
    "YOLO26n (shapes, **640 px**, one-to-many / end-to-end head) OpenVINO INT8 with": [
        "yolo26/int8-640-o2m-overflow-fix.json",
        "yolo26/int8-640-e2e-overflow-fix.json",
    ],
    "YOLOv8n / YOLO11n (shapes, **640 px**)": [
        "peers/ultralytics-yolov8n-640.json",
        "peers/ultralytics-yolo11n-640.json",
    ],
    "YOLOv8n pruned −50 % MACs": ["compress/yolov8n-shapes-p50-int8.json"],  # the control: accuracy only
    "pruning's cost against": [],
    "pruning against the **converged** original": [],  # accuracy only, not timed
    "gate, 20 runs each": ["gate_noise.json"],
    "the gate's count lane": ["count_noise.json"],
    "sweeps: nano-det": ["sweeps/nano-det/results.json", "sweeps/yolov8n-shapes/results.json"],
    "the same 30-cell sweep": ["sweeps/executors.json"],
    "the ladder against pruning": ["sweeps/ladder-shapes/results.json"],
}


def _machines(node: Any, found: set[str]) -> set[str]:
    """A short name (vendor's CPU family and its best vector ISA) for every machine record in a JSON."""
    if isinstance(node, dict):
        if isinstance(node.get("isa"), list) and isinstance(node.get("cpu"), str):
            isa = node["isa"]
            best = (
                "AMX"
                if any(str(flag).startswith("amx") for flag in isa)
                else "AVX-512 VNNI"
                if "avx512_vnni" in isa
                else "AVX2"
            )
            family = "Xeon" if "Xeon" in node["cpu"] else "EPYC" if "EPYC" in node["cpu"] else node["cpu"]
            found.add(f"{family} {best}")
        for value in node.values():
            _machines(value, found)
    elif isinstance(node, list):
        for value in node:
            _machines(value, found)
    return found


def _rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| what | figure | machine | where |") : text.index("## Read more")]
    return [line.strip("|").split(" | ") for line in table.strip().splitlines()[2:]]


def test_every_results_row_names_the_machine_its_json_records():
    rows = _rows()
    assert len(rows) >= 16
    for cells in rows:
        first, machine = cells[0].strip(), cells[-2].strip()
        sources = [files for start, files in SOURCES.items() if first.startswith(start)]
        assert len(sources) == 1, f"README row without a declared source: {first}"
        if not sources[0]:
            assert machine == NOT_TIMED, first
            continue
        found: set[str] = set()
        for name in sources[0]:
            _machines(json.loads((ROOT / "benchmarks" / name).read_text()), found)
        assert len(found) == 1 and machine == found.pop(), (first, machine)
