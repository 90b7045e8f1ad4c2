"""Every script under benchmarks/ still works on today's code: each imports in a fresh interpreter, and each
runs end to end on a tiny setting (``--smoke`` and friends), writing into a temporary folder, never over the
committed evidence. A refactor cannot orphan the evidence behind the docs' figures without failing here.
Scripts that run in Ultralytics' own venv are skipped where Ultralytics is not installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").rglob("*.py") if "__pycache__" not in p.parts)


def _pruned_table(tmp: Path) -> None:
    shutil.copy(ROOT / "benchmarks" / "compress" / "yolov8n-shapes-p50-int8.json", tmp / "smoke-int8.json")


def _artifacts(tmp: Path) -> None:
    import edgekit

    rows = edgekit.export("nano-det", ["onnx-fp32", "ort-int8"], tmp / "arts", calib_images=16)
    assert [row.status for row in rows] == ["ok", "ok"]


#: each script's tiny run: its arguments ("{tmp}": a fresh folder) and what to prepare in that folder first
SMOKE: dict[str, tuple[list[str], Callable[[Path], None] | None]] = {
    "calibration_study.py": (["--smoke", "--work", "{tmp}/work", "--out-dir", "{tmp}"], None),
    "compress/pruned_int8.py": (
        ["unused", "smoke", "--data", "shapes-det", "--table-only", "--out-dir", "{tmp}"],
        _pruned_table,
    ),
    "compress/ratio_table.py": (
        [
            "nano-cls",
            "smoke",
            "--ratios",
            "0",
            "--epochs",
            "1",
            "--kd-images",
            "16",
            "--smoke",
            "--work",
            "{tmp}/work",
            "--out-dir",
            "{tmp}",
        ],
        None,
    ),
    "converged/converged.py": (["--out-dir", "{tmp}"], None),
    "memory/export_memory.py": (
        ["nano-det", "--targets", "onnx-fp32,ort-int8", "--calib-images", "8", "--out", "{tmp}/memory.json"],
        None,
    ),
    "count_spread.py": (
        ["{tmp}/arts/ort-int8", "--processes", "1", "--runs", "3", "--work", "{tmp}/dumps"]
        + ["--out", "{tmp}/spread.json"],
        _artifacts,
    ),
    "yolo26/int8.py": (["nano-det", "--smoke", "--out", "{tmp}/yolo26.json"], None),
    "yolo26/int8_float_parts.py": (
        ["{tmp}/arts/onnx-fp32/model.onnx", "--smoke", "--out", "{tmp}/parts.json"],
        _artifacts,
    ),
    "yolo26/int8_variants.py": (
        [
            "nano-det",
            "--variant",
            "openvino-int8",
            "--variant",
            "openvino-int8:overflow_fix=enable",
            "--smoke",
            "--work",
            "{tmp}/variants",
            "--out",
            "{tmp}/variants.json",
        ],
        None,
    ),
    "gate_stability.py": (["{tmp}/arts", "--repeats", "1", "--smoke", "--out", "{tmp}/out"], _artifacts),
    "int8_remedies.py": (["--smoke", "--json", "{tmp}/remedies.json"], None),
    "kd_recovery.py": (["--images", "16", "--epochs", "1", "--out", "{tmp}/kd.json"], None),
    "openvino_bias_correction.py": (["--smoke", "--out-dir", "{tmp}"], None),
    "pose/int8.py": (["--smoke", "--out-dir", "{tmp}"], None),
    "pose/make_data.py": (["{tmp}/pose", "--train", "2", "--val", "2"], None),
    "pytorch_direct.py": (["--smoke", "--only", "nano-cls", "--work", "{tmp}/work", "--out-dir", "{tmp}"], None),
    "roofline.py": (["--smoke", "--out-dir", "{tmp}"], None),
    "sweep_executors.py": (["--smoke", "--executors", "local", "--out", "{tmp}/executors.json"], None),
    "train_reference.py": (["--model", "cls", "--cls-epochs", "1", "--cls-images", "32", "--out-dir", "{tmp}"], None),
    "yolov8n/eval_settings.py": (["--out-dir", "{tmp}"], None),
    "yolov8n/make_data.py": (["{tmp}/yolo", "--train", "2"], None),
}
#: run in Ultralytics' venv (import-checked where it is installed)
ULTRALYTICS_VENV = {
    "converged/train.py",
    "yolov8n/train.py",
    "yolov8n/yolo_val.py",
    "yolov8n/peer_exports.py",
    "compress/yolo_val_pruned.py",
    "yolo640/finetune.py",
}
#: not run here, and why
NOT_RUN = {
    "count_noise.py": "counts six artifacts under valgrind (2-4 min a run) 60 times, for hours",
    "detection_loss.py": "a module, not a script: train_reference.py imports it",
    "gate_noise.py": "times the gate for minutes beside deliberate neighbours and refuses a busy machine",
    "peers/ultralytics.py": "benches the exports peer_exports.py makes in Ultralytics' venv",
}


def _name(script: Path) -> str:
    return str(script.relative_to(ROOT / "benchmarks"))


def test_every_benchmark_script_has_a_smoke_run_or_a_reason() -> None:
    listed = set(SMOKE) | ULTRALYTICS_VENV | set(NOT_RUN)
    assert {_name(p) for p in SCRIPTS} == listed


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMOKE))
def test_benchmark_script_runs_on_a_tiny_setting(name: str, tmp_path: Path) -> None:
    args, prepare = SMOKE[name]
    if prepare:
        prepare(tmp_path)
    before = _evidence_state()
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *[a.format(tmp=tmp_path) for a in args]],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    assert _evidence_state() == before, "a smoke run wrote over committed evidence"
    assert any(tmp_path.rglob("*")), "the smoke run wrote nothing"


def _evidence_state() -> str:
    """``git status`` of what the scripts write by default (benchmarks/, the built-in weights)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return ""
    return subprocess.run(
        ["git", "status", "--porcelain", "--", "benchmarks", "toolkit/models/weights"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout


@pytest.mark.slow
@pytest.mark.parametrize("script", [p for p in SCRIPTS if _name(p) not in SMOKE], ids=_name)
def test_benchmark_script_imports(script: Path):
    """The scripts that are not run here import (the others import when they run)."""
    code = (
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(script.parent)!r})\n"
        f"spec = importlib.util.spec_from_file_location('bench_script', {str(script)!r})\n"
        "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
        "assert callable(getattr(module, 'main', None)) or 'main' not in dir(module)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if "No module named 'ultralytics'" in result.stderr:
        pytest.skip(f"{script.name} runs in Ultralytics' venv")
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_benchmark_script_is_listed_in_the_benchmarks_readme():
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    missing = [
        str(p.relative_to(ROOT / "benchmarks"))
        for p in SCRIPTS
        if str(p.relative_to(ROOT / "benchmarks")) not in readme
    ]
    assert not missing, f"benchmarks/README.md does not map: {missing}"
