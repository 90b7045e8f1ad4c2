"""Datasets users bring (COCO JSON, YOLO data.yaml, ImageFolder) and the built-in generated ones.

Everything is validated up front, so a bad dataset fails with one line naming the file before any output
is written. Detection datasets always end up as a COCO JSON on disk: that is the file that gets scored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError, EdgekitError
from ..fsutil import sha256_file
from ..schema import check_list, check_object, read_json_file
from ..tasks.registry import task_for_annotation_keys
from .preprocess import opened_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
BOX_TOLERANCE_PX = 1.0


@dataclass(frozen=True)
class ImageRecord:
    """One image: its COCO id, file and size."""

    image_id: int
    path: Path
    width: int
    height: int


@dataclass(frozen=True)
class DetectionDataset:
    """Images plus the COCO ground-truth file that scores predictions on them."""

    name: str
    images: list[ImageRecord]
    class_names: list[str]
    category_ids: list[int]
    annotations_path: Path
    num_annotations: int
    task: str = "detect"

    @property
    def image_paths(self) -> list[Path]:
        return [record.path for record in self.images]

    def summary(self) -> dict[str, Any]:
        """Name, image count and the sha256 of the scored COCO file (``annotations`` is its path, for people)."""
        return {
            "name": self.name,
            "images": len(self.images),
            "annotations": str(self.annotations_path),
            "annotations_sha256": sha256_file(self.annotations_path),
        }

    def own_files(self, folder: str) -> tuple[dict[str, Path], str]:
        """The files that make up this set, by their name under ``folder`` in a copy of it elsewhere (its
        annotations as ``annotations.json`` beside the images it names), and the path that copy loads from."""
        coco = read_json_file(Path(self.annotations_path), "COCO JSON")
        names = {entry["id"]: entry["file_name"] for entry in coco["images"]}
        files = {f"{folder}/annotations.json": Path(self.annotations_path)}
        files |= {f"{folder}/{names[record.image_id]}": record.path for record in self.images}
        return files, f"{folder}/annotations.json"

    def subset(self, keep: set[Path], work: Path, label: str = "subset") -> DetectionDataset:
        """The images in ``keep``, named ``<name> (<label>)``, with a ground-truth file of their own written in
        ``work``."""
        images = [record for record in self.images if record.path in keep]
        ids = {record.image_id for record in images}
        coco = read_json_file(Path(self.annotations_path), "COCO JSON")  # validated when the dataset was loaded
        coco["images"] = [image for image in coco["images"] if image["id"] in ids]
        coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
        path = work / f"{label}_annotations.json"
        path.write_text(json.dumps(coco))
        return DetectionDataset(
            f"{self.name} ({label})",
            images,
            self.class_names,
            self.category_ids,
            path,
            len(coco["annotations"]),
            self.task,
        )


@dataclass(frozen=True)
class ClassificationDataset:
    """ImageFolder samples: (image path, class index)."""

    name: str
    samples: list[tuple[Path, int]]
    class_names: list[str]
    task: str = "classify"

    @property
    def image_paths(self) -> list[Path]:
        return [path for path, _ in self.samples]

    def summary(self) -> dict[str, Any]:
        """Name, image count and the sha256 of the scored labels (folder/file and class per image)."""
        labels = "\n".join(f"{path.parent.name}/{path.name}\t{label}" for path, label in self.samples)
        return {
            "name": self.name,
            "images": len(self.samples),
            "labels_sha256": hashlib.sha256(labels.encode()).hexdigest(),
        }

    def own_files(self, folder: str) -> tuple[dict[str, Path], str]:
        """The images of this set under their class folders in ``folder`` (numbered: names may repeat), and
        the path that copy loads from."""
        files = {
            f"{folder}/{self.class_names[label]}/{index:06d}-{path.name}": path
            for index, (path, label) in enumerate(self.samples)
        }
        return files, folder

    def subset(self, keep: set[Path], work: Path, label: str = "subset") -> ClassificationDataset:
        """The samples whose image is in ``keep``, named ``<name> (<label>)`` (``work`` is not needed)."""
        return ClassificationDataset(
            f"{self.name} ({label})", [s for s in self.samples if s[0] in keep], self.class_names
        )


Dataset = DetectionDataset | ClassificationDataset


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header; ``DataError`` naming the file when missing, corrupt or huge."""
    with opened_image(path) as img:
        img.verify()
        return img.size


def _read_json(path: Path) -> dict:
    data = read_json_file(path, "COCO annotation file", DataError)
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        raise DataError(f"{path} is not a COCO detection file (needs images, annotations, categories)")
    try:
        _check_coco_types(data)
        _check_ids_and_names(data)
    except EdgekitError as exc:
        raise DataError(f"{path}: {exc}") from None
    return data


def _check_coco_types(data: dict) -> None:
    check_list(data["images"], dict, "images", min_length=1)
    check_list(data["annotations"], dict, "annotations")
    check_list(data["categories"], dict, "categories", min_length=1)
    for i, entry in enumerate(data["images"]):
        check_object(entry, f"images[{i}]", {"id": int, "file_name": str}, strict=False)
    for i, entry in enumerate(data["categories"]):
        check_object(entry, f"categories[{i}]", {"id": int, "name": str}, strict=False)
    for i, ann in enumerate(data["annotations"]):
        check_object(
            ann,
            f"annotations[{i}]",
            {"image_id": int, "category_id": int, "bbox": list},
            {"id": int, "area": (int, float), "iscrowd": int},
            strict=False,
        )
        if len(check_list(ann["bbox"], (int, float), f"annotations[{i}].bbox")) != 4:
            raise DataError(f"annotations[{i}].bbox must be [x, y, w, h]")
        if "keypoints" in ann and len(check_list(ann["keypoints"], (int, float), f"annotations[{i}].keypoints")) % 3:
            raise DataError(f"annotations[{i}].keypoints must be [x, y, v] per keypoint")


def _check_ids_and_names(data: dict) -> None:
    """Image and annotation ids are unique (pycocotools keeps the last of equal ids silently) and every
    ``file_name`` is a relative path that stays inside the image folder."""
    for key in ("images", "annotations"):
        seen: set[int] = set()
        for entry in data[key]:
            if "id" in entry and entry["id"] in seen:
                raise DataError(f"duplicate {key[:-1]} id {entry['id']}")
            seen.add(entry.get("id"))
    for entry in data["images"]:
        name = Path(entry["file_name"])
        if not entry["file_name"] or name.is_absolute() or ".." in name.parts:
            raise DataError(
                f"image {entry['id']}: file_name {entry['file_name']!r} must be a relative path inside the image folder"
            )


def _completed(json_path: Path, data: dict) -> Path:
    """The annotation file pycocotools can score: ``json_path`` itself, or, when annotations lack ``id``,
    ``area`` or ``iscrowd`` (optional for many writers, needed by COCOeval), a completed copy in the cache."""
    missing = [ann for ann in data["annotations"] if not {"id", "area", "iscrowd"} <= ann.keys()]
    if not missing:
        return json_path
    used = {ann["id"] for ann in data["annotations"] if "id" in ann}
    fresh = (i for i in range(1, len(data["annotations"]) + len(used) + 2) if i not in used)
    for ann in missing:
        ann.setdefault("area", float(ann["bbox"][2] * ann["bbox"][3]))
        ann.setdefault("iscrowd", 0)
        if "id" not in ann:
            ann["id"] = next(fresh)
    text = json.dumps(data)
    return write_cached_coco(text, digest_text(str(json_path.resolve()) + text))


def write_cached_coco(text: str, digest: str) -> Path:
    """Write a COCO JSON made by edgekit (from another layout, or completed) to the cache, atomically."""
    target = coco_cache_path(digest)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, target)
    return target


def _coco_image_dir(json_path: Path, file_name: str) -> Path:
    split = json_path.stem.removeprefix("instances_")
    root = json_path.parent
    for candidate in (
        root,
        root.parent / "images" / split,
        root.parent / split,
        root / "images",
        root.parent / "images",
        root.parent,
    ):
        if (candidate / file_name).is_file():
            return candidate
    raise DataError(f"image not found for {json_path}: {file_name}")


def load_coco(json_path: Path, name: str | None = None) -> DetectionDataset:
    """Load and validate a COCO detection JSON; images are looked up beside it in the usual layouts."""
    data = _read_json(json_path)
    categories = sorted(data["categories"], key=lambda c: c["id"])
    known = {c["id"] for c in categories}
    image_dir = _coco_image_dir(json_path, data["images"][0]["file_name"])
    images, sizes = [], {}
    for entry in data["images"]:
        path = image_dir / entry["file_name"]
        width, height = image_size(path)
        images.append(ImageRecord(int(entry["id"]), path, width, height))
        sizes[entry["id"]] = (width, height)
    for ann in data["annotations"]:
        _check_coco_annotation(json_path, ann, known, sizes)
    return DetectionDataset(
        name or json_path.stem,
        images,
        [c["name"] for c in categories],
        [c["id"] for c in categories],
        _completed(json_path, data),
        len(data["annotations"]),
        task_for_annotation_keys(key for ann in data["annotations"] for key in ann),
    )


def _check_coco_annotation(json_path: Path, ann: dict, known: set, sizes: dict) -> None:
    if ann.get("category_id") not in known:
        raise DataError(f"{json_path}: annotation {ann.get('id')} has unknown category_id {ann.get('category_id')}")
    if ann.get("image_id") not in sizes:
        raise DataError(f"{json_path}: annotation {ann.get('id')} refers to unknown image_id {ann.get('image_id')}")
    x, y, w, h = ann["bbox"]
    width, height = sizes[ann["image_id"]]
    if (
        w <= 0
        or h <= 0
        or x < -BOX_TOLERANCE_PX
        or y < -BOX_TOLERANCE_PX
        or x + w > width + BOX_TOLERANCE_PX
        or y + h > height + BOX_TOLERANCE_PX
    ):
        raise DataError(
            f"{json_path}: annotation {ann.get('id')} box {ann['bbox']} lies outside its {width}x{height} image"
        )


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted; ``DataError`` when there are none."""
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"no images in {folder}")
    return files


def load_image_folder(root: Path, name: str | None = None) -> ClassificationDataset:
    """ImageFolder: one sub-folder per class (sorted names), images inside."""
    if not root.is_dir():
        raise DataError(f"dataset folder not found: {root}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"no class folders in {root} (ImageFolder layout: ROOT/CLASS/IMAGE)")
    samples = []
    for index, cls in enumerate(classes):
        for path in sorted(p for p in (root / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            image_size(path)
            samples.append((path, index))
    if not samples:
        raise DataError(f"no images in the class folders of {root}")
    return ClassificationDataset(name or root.name, samples, classes)


def coco_cache_path(digest: str) -> Path:
    """Where COCO JSONs converted from other layouts are kept."""
    from edgekit.calibration_data.build import cache_root

    return cache_root() / "coco-from-yolo" / f"{digest}.json"


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
