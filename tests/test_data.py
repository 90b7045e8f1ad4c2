"""Generated data is deterministic; COCO / YOLO / ImageFolder loaders agree and reject bad data clearly."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from edgekit.calibration_data.build import CLASSIFICATION_SPLITS, DETECTION_SPLITS, ensure_dataset
from edgekit.data.datasets import load_coco, load_image_folder
from edgekit.data.resolve import resolve_dataset
from edgekit.data.yolo import load_yolo
from edgekit.errors import DataError


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_generation_is_byte_identical(tmp_path):
    first = ensure_dataset("shapes-cls", tmp_path / "a")
    second = ensure_dataset("shapes-cls", tmp_path / "b")
    assert _tree_digest(first) == _tree_digest(second)


def test_detection_generation_is_byte_identical(tmp_path, det_dataset_root):
    again = ensure_dataset("shapes-det", tmp_path)
    assert _tree_digest(again) == _tree_digest(det_dataset_root)


def test_detection_data_has_all_sizes_and_both_layouts(det_dataset_root):
    coco = load_coco(det_dataset_root / "annotations" / "instances_val.json")
    yolo = load_yolo(det_dataset_root / "data.yaml", "val")
    assert len(coco.images) == len(yolo.images) == DETECTION_SPLITS["val"][1]
    assert coco.num_annotations == yolo.num_annotations > len(coco.images)
    areas = [a["area"] for a in json.loads(coco.annotations_path.read_text())["annotations"]]
    small = sum(a < 32**2 for a in areas)
    large = sum(a > 96**2 for a in areas)
    assert small > 0.2 * len(areas) and large > 0.03 * len(areas)
    assert coco.class_names == yolo.class_names


def test_builtin_classification_dataset():
    data = resolve_dataset("shapes-cls", "val")
    assert len(data.samples) == CLASSIFICATION_SPLITS["val"][1] and len(data.class_names) == 5


@pytest.fixture
def yolo_copy(tmp_path, det_dataset_root):
    root = tmp_path / "yolo"
    shutil.copytree(det_dataset_root / "images" / "calib", root / "images" / "val")
    shutil.copytree(det_dataset_root / "labels" / "calib", root / "labels" / "val")
    (root / "data.yaml").write_text("path: .\nval: images/val\nnames: [circle, rectangle, triangle, cross, ring]\n")
    return root


def test_yolo_names_as_list(yolo_copy):
    data = load_yolo(yolo_copy / "data.yaml")
    assert data.class_names[0] == "circle" and len(data.images) == DETECTION_SPLITS["calib"][1]


def _first_label(root: Path) -> Path:
    return sorted((root / "labels" / "val").iterdir())[0]


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("class", "out of range"),
        ("box", "outside the image"),
        ("missing", "image folder not found"),
        ("corrupt", "corrupt or unreadable image"),
        ("empty", "no images in"),
        ("syntax", "expected 'class cx cy w h'"),
    ],
)
def test_bad_yolo_data_names_the_file(yolo_copy, breakage, message):
    images = sorted((yolo_copy / "images" / "val").iterdir())
    label = _first_label(yolo_copy)
    culprit = label
    if breakage == "class":
        label.write_text("7 0.5 0.5 0.1 0.1\n")
    elif breakage == "box":
        label.write_text("0 0.95 0.5 0.3 0.1\n")
    elif breakage == "syntax":
        label.write_text("0 0.5 oops\n")
    elif breakage == "missing":
        (yolo_copy / "data.yaml").write_text("path: .\nval: images/nowhere\nnames: [a]\n")
        culprit = yolo_copy / "images" / "nowhere"
    elif breakage == "corrupt":
        images[0].write_bytes(b"not a png at all")
        culprit = images[0]
    elif breakage == "empty":
        for image in images:
            image.unlink()
        culprit = yolo_copy / "images" / "val"
    with pytest.raises(DataError, match=message) as info:
        load_yolo(yolo_copy / "data.yaml")
    assert str(culprit) in str(info.value) and "\n" not in str(info.value)


def test_bad_coco_data(tmp_path, det_dataset_root):
    data = json.loads((det_dataset_root / "annotations" / "instances_val.json").read_text())
    data["annotations"][0]["category_id"] = 99
    bad = tmp_path / "annotations" / "instances_val.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(data))
    shutil.copytree(det_dataset_root / "images" / "val", tmp_path / "images" / "val")
    with pytest.raises(DataError, match="unknown category_id 99"):
        load_coco(bad)
    data["annotations"][0]["category_id"] = 1
    data["images"][0]["file_name"] = "absent.png"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataError, match="absent.png"):
        load_coco(bad)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no class folders"):
        load_image_folder(tmp_path)
    (tmp_path / "cat").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_image_folder(tmp_path)


def _coco_copy(tmp_path: Path, det_dataset_root: Path, edit) -> Path:
    data = json.loads((det_dataset_root / "annotations" / "instances_val.json").read_text())
    edit(data)
    path = tmp_path / "annotations" / "instances_val.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data))
    if not (tmp_path / "images" / "val").exists():
        shutil.copytree(det_dataset_root / "images" / "val", tmp_path / "images" / "val")
    return path


def _strip_optional(data: dict) -> None:
    for ann in data["annotations"]:
        for key in ("id", "area", "iscrowd"):
            ann.pop(key, None)


def test_coco_without_annotation_ids_areas_or_crowd_flags_scores_like_the_full_file(tmp_path, det_dataset_root):
    """Many writers leave out id/area/iscrowd; pycocotools' scoring needs them (a KeyError before)."""
    from edgekit.tasks.detection import coco_map

    full = load_coco(det_dataset_root / "annotations" / "instances_val.json")
    bare = load_coco(_coco_copy(tmp_path, det_dataset_root, _strip_optional))
    assert bare.annotations_path != full.annotations_path  # a completed copy, in the cache
    completed = json.loads(bare.annotations_path.read_text())["annotations"]
    assert len({a["id"] for a in completed}) == len(completed) and all(a["iscrowd"] == 0 for a in completed)
    truth = json.loads(full.annotations_path.read_text())["annotations"]
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9}
        for a in truth[::2]
    ]
    assert coco_map(bare.annotations_path, detections) == coco_map(full.annotations_path, detections)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["images"][1].update(id=d["images"][0]["id"]), "duplicate image id"),
        (lambda d: d["annotations"][1].update(id=d["annotations"][0]["id"]), "duplicate annotation id"),
        (lambda d: d["images"][0].update(file_name="../../secret.png"), "must be a relative path inside"),
        (lambda d: d["images"][0].update(file_name="/etc/passwd"), "must be a relative path inside"),
    ],
)
def test_coco_duplicate_ids_and_file_names_outside_are_one_line(tmp_path, det_dataset_root, edit, message):
    with pytest.raises(DataError, match=message) as info:
        load_coco(_coco_copy(tmp_path, det_dataset_root, edit))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("split", ["../../elsewhere", "/etc", "[images/val, ../x]"])
def test_yolo_split_folders_stay_inside_the_dataset_root(yolo_copy, split):
    (yolo_copy / "data.yaml").write_text(f"path: .\nval: {split}\nnames: [a, b, c, d, e]\n")
    with pytest.raises(DataError, match="must be a folder inside the dataset root"):
        load_yolo(yolo_copy / "data.yaml")
