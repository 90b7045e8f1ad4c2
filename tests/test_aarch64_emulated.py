"""The device side on aarch64, emulated: INT8 artifacts exported here (x86) are benched by edgekit on Debian
bookworm arm64 under qemu (a Cortex-A76, the Raspberry Pi 5's core), with only numpy + the runtimes installed
from aarch64 wheels, and score what they score here on the same images. Latency under emulation means nothing:
it is printed, never compared. Skips with one line where the emulated device cannot be made (not root, no
debootstrap, no mirror)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import aarch64_emulation as emulation
import edgekit
import pytest
from edgekit.bench.options import physical_cores
from edgekit.cli import app
from typer.testing import CliRunner

pytestmark = pytest.mark.slow
#: how far (mAP points, 16 images) the device's scores may sit from x86's
ARM_X86_POINTS = 0.1
#: ORT INT8 with MeanMinMax ranges (the default since 2026-12-06) scored up to 1.4 pt apart on map75 between ORT's
#: ARM and x86 kernels, where Percentile's scored the same: an open discrepancy, measured here and kept in the
#: evidence JSON, bounded but not hidden (docs/device.md)
ARM_X86_POINTS_ORT_MEANMINMAX = 2.0
IMAGES = 16
FAST = ["--runs", "3", "--warmup", "1", "--min-seconds", "0", "--rounds", "1"]


def _val_subset(folder: Path, count: int) -> Path:
    """The first ``count`` images of shapes-det val as a COCO file with its images beside it."""
    from edgekit.calibration_data.build import ensure_dataset

    root = ensure_dataset("shapes-det")
    annotations = json.loads((root / "annotations" / "instances_val.json").read_text())
    images = annotations["images"][:count]
    ids = {image["id"] for image in images}
    folder.mkdir()
    for image in images:
        shutil.copyfile(root / "images" / "val" / image["file_name"], folder / image["file_name"])
    kept = [a for a in annotations["annotations"] if a["image_id"] in ids]
    (folder / "instances_val.json").write_text(json.dumps(annotations | {"images": images, "annotations": kept}))
    return folder / "instances_val.json"


def test_aarch64_emulated_bench_scores_what_x86_scores(tmp_path, reference_exports, edgekit_wheel):
    why = emulation.unavailable()
    if why:
        pytest.skip(f"no emulated aarch64 device: {why}")
    sites = [emulation.edgekit_site(edgekit_wheel, tmp_path / "edgekit"), emulation.device_site()]
    assert not any((site / heavy).exists() for site in sites for heavy in ("torch", "tensorflow"))
    exported = [reference_exports("nano-det", target) for target in ("ort-int8", "tflite-int8")]
    exported += edgekit.export(
        "nano-det",
        ["ort-int8"],
        tmp_path / "percentile",
        data="shapes-det",
        overrides={"ort-int8": {"calibration_method": "Percentile"}},
    )
    assert [row.status for row in exported] == ["ok", "ok", "ok"], exported
    data = _val_subset(tmp_path / "val", IMAGES)
    artifacts = [str(row.path) for row in exported]
    here = CliRunner().invoke(
        app, ["bench", *artifacts, "--data", str(data), "--json", str(tmp_path / "x86.json"), *FAST]
    )
    assert here.exit_code == 0, here.output
    # the device runs the CLI in a script that then lists what it imported
    script = (
        "import sys, json\nfrom edgekit.cli import main\n"
        "sys.argv = ['edgekit', 'bench', *json.loads(sys.argv[1])]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'tensorflow', 'onnx'})\n"
        "print('HEAVY', json.dumps(heavy))\n"
    )
    arguments = [*artifacts, "--data", str(data), "--json", str(tmp_path / "arm.json"), *FAST]
    device = emulation.run_arm_python(["-c", script, json.dumps(arguments)], sites)
    assert device.returncode == 0, device.stderr[-3000:] + device.stdout[-2000:]
    assert "HEAVY []" in device.stdout  # numpy + the runtimes only: no torch, no TensorFlow, no onnx
    x86, arm = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("x86", "arm"))
    assert arm["environment"]["machine"] == "aarch64" and "asimd" in arm["environment"]["isa"]
    for mine, theirs in zip(x86["results"], arm["results"]):
        assert theirs["target"] == mine["target"] and theirs["status"] == "ok"
        assert theirs["threads"] == physical_cores()  # the device's default: one thread per physical core
        if theirs["runtime"] == "tflite":  # LiteRT's ARM path: its XNNPACK delegate, as on x86
            assert theirs["runtime_version"].endswith("+ XNNPACK") and mine["runtime_version"].endswith("+ XNNPACK")
        mean_minmax_ort = mine["target"] == "ort-int8" and "percentile" not in mine["artifact"]
        allowed = ARM_X86_POINTS_ORT_MEANMINMAX if mean_minmax_ort else ARM_X86_POINTS
        for metric, value in mine["metrics"].items():
            assert abs(theirs["metrics"][metric] - value) * 100 <= allowed, (mine["artifact"], metric)
    print("aarch64 (emulated):", {r["target"]: r["metrics"] for r in arm["results"]})
    evidence = os.environ.get("EDGEKIT_EVIDENCE_DIR")
    if evidence:  # benchmarks/aarch64/: the JSON behind docs/device.md's table, kept from a run of this test
        for name in ("x86", "arm"):
            shutil.copyfile(tmp_path / f"{name}.json", Path(evidence) / f"emulated-{name}.json")
