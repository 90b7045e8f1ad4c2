"""``bench --on --data``: only the dataset's own files travel to the device, as one tar stream; before, the
whole folder around a data file was sent (a COCO JSON in the home folder shipped ``~/.ssh``)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from edgekit.bench.shipping import dataset_files, write_tar
from edgekit.data.resolve import resolve_dataset

ROOT = Path(__file__).resolve().parent.parent


def _unpacked(files: dict[str, Path], into: Path) -> Path:
    buffer = io.BytesIO()
    write_tar(buffer, files)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r|") as archive:
        archive.extractall(into, filter="data")
    return into


def test_a_coco_file_ships_its_annotations_and_images_and_nothing_beside_them(tmp_path, det_dataset_root):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY")
    shutil.copytree(det_dataset_root / "images" / "val", home / "images")
    coco = json.loads((det_dataset_root / "annotations" / "instances_val.json").read_text())
    (home / "instances_val.json").write_text(json.dumps(coco))
    files, data = dataset_files(str(home / "instances_val.json"))
    assert data == "data/annotations.json"
    assert not any(".ssh" in name or ".ssh" in str(path) for name, path in files.items())
    assert len(files) == len(coco["images"]) + 1
    shipped = _unpacked(files, tmp_path / "device")
    there = resolve_dataset(str(shipped / data), "val")
    here = resolve_dataset(str(home / "instances_val.json"), "val")
    assert there.summary()["annotations_sha256"] == here.summary()["annotations_sha256"]
    assert len(there.images) == len(here.images)


def test_a_yolo_set_ships_its_val_split_only(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "yolov8n" / "make_data.py"), str(tmp_path / "yolo"), "--train", "6"],
        check=True,
        capture_output=True,
    )
    files, data = dataset_files(str(tmp_path / "yolo" / "data.yaml"))
    assert not any("train" in str(path) for path in files.values())
    shipped = _unpacked(files, tmp_path / "device")
    there = resolve_dataset(str(shipped / data), "val")
    assert len(there.images) == len(resolve_dataset(str(tmp_path / "yolo" / "data.yaml"), "val").images)


def test_the_stream_reaches_a_real_tar_through_a_pipe(tmp_path, det_dataset_root):
    """stream_into with a local `tar -x` standing in for ssh's remote command: every file arrives whole."""
    from edgekit.bench.shipping import stream_into

    files, data = dataset_files(str(det_dataset_root / "annotations" / "instances_val.json"))
    (tmp_path / "device").mkdir()
    done = stream_into(["tar", "-C", str(tmp_path / "device"), "-xf", "-"], files, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(resolve_dataset(str(tmp_path / "device" / data), "val").images) == len(files) - 1
