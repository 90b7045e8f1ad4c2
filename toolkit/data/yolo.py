"""Ultralytics YOLO layout: ``data.yaml`` + ``images/<split>`` + ``labels/<split>``, converted to COCO JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from ..errors import DataError, EdgekitError, first_line
from ..tasks.registry import task_for_annotation_keys
from ..yamlread import load_yaml
from .datasets import DetectionDataset, ImageRecord, digest_text, image_size, list_images, write_cached_coco


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    try:
        raw = path.read_bytes()
        data = load_yaml(raw, str(path))
    except (yaml.YAMLError, ValueError, RecursionError, EdgekitError) as exc:
        raise DataError(f"invalid YAML in {path}: {first_line(exc)}") from None
    if not isinstance(data, dict) or "names" not in data:
        raise DataError(f"{path} is not a YOLO data.yaml (needs 'names')")
    if data.get("path") is not None and not isinstance(data["path"], str):
        raise DataError(f"{path}: 'path' must be a directory path, got {type(data['path']).__name__}")
    for key in ("train", "val"):
        value = data.get(key)
        if (
            value is not None
            and not isinstance(value, str)
            and not (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
        ):
            raise DataError(f"{path}: '{key}' must be a path or a list of paths, got {type(value).__name__}")
    return data


def _names_from_dict(path: Path, names: dict) -> list[str]:
    try:
        keyed = {int(k): v for k, v in names.items() if not isinstance(k, bool)}
    except (TypeError, ValueError):
        keyed = {}
    if sorted(keyed) != list(range(len(names))):
        raise DataError(f"{path}: 'names' keys must be the integers 0..N-1")
    return [str(keyed[k]) for k in range(len(keyed))]


def _class_names(path: Path, names: object) -> list[str]:
    if isinstance(names, dict) and names:
        out = _names_from_dict(path, names)
    elif isinstance(names, list) and names:
        out = [str(n) for n in names]
    else:
        raise DataError(f"{path}: 'names' must be a non-empty list or dict")
    if any(isinstance(n, (dict, list)) for n in (names.values() if isinstance(names, dict) else names)):
        raise DataError(f"{path}: class names must be plain strings")
    return out


def label_path_for(image: Path) -> Path:
    """Ultralytics rule: the last ``images`` folder in the path becomes ``labels``, suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


#: a keypoint's scale in OKS is its object's box area times this (Ultralytics' convention, as ``yolo val``)
OKS_AREA_FACTOR = 0.53


def _keypoint_shape(path: Path, data: dict) -> tuple[int, int] | None:
    """``kpt_shape: [K, 2 | 3]`` of a pose data.yaml (K keypoints of x, y and maybe visibility), or None."""
    shape = data.get("kpt_shape")
    if shape is None:
        return None
    if not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(type(v) is int for v in shape)
        and shape[0] > 0
        and shape[1] in (2, 3)
    ):
        raise DataError(f"{path}: 'kpt_shape' must be [keypoints, 2 or 3], got {shape!r}")
    return shape[0], shape[1]


def _keypoints(fields: list[str], shape: tuple[int, int], width: int, height: int) -> list[float]:
    """COCO ``keypoints`` (x, y, v per keypoint, in pixels) from a label line's normalised fields."""
    count, dims = shape
    values = [float(v) for v in fields]
    if len(values) != count * dims or not all(math.isfinite(v) for v in values):
        raise ValueError
    out: list[float] = []
    for k in range(count):
        x, y, v = values[k * dims], values[k * dims + 1], values[k * dims + 2] if dims == 3 else 2.0
        if v > 0 and not (-1e-3 <= x <= 1 + 1e-3 and -1e-3 <= y <= 1 + 1e-3):
            raise KeypointOutside(f"keypoint {k} outside the image (normalised {x} {y})")
        out += [round(x * width, 3), round(y * height, 3), int(v)] if v > 0 else [0.0, 0.0, 0]
    return out


class KeypointOutside(ValueError):
    """A visible keypoint whose normalised position lies outside [0, 1]."""


def _parse_label_file(
    label: Path, num_classes: int, width: int, height: int, keypoints: tuple[int, int] | None = None
) -> list[tuple[int, list[float], list[float]]]:
    if not label.is_file():
        return []  # an image without a label file has no objects (Ultralytics convention)
    objects = []
    layout = "class cx cy w h" + (f" and {keypoints[0]} keypoints of {keypoints[1]} values" if keypoints else "")
    try:
        text = label.read_bytes().decode()
    except UnicodeDecodeError:
        raise DataError(f"{label}: not a text label file") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            cls, cx, cy, w, h = int(fields[0]), *map(float, fields[1:5])
            if not all(math.isfinite(v) for v in (cx, cy, w, h)):
                raise ValueError
            points = _keypoints(fields[5:], keypoints, width, height) if keypoints else []
        except KeypointOutside as exc:
            raise DataError(f"{label}:{lineno}: {exc}") from None
        except (ValueError, IndexError):
            raise DataError(f"{label}:{lineno}: expected '{layout}', got {line.strip()[:80]!r}") from None
        if not 0 <= cls < num_classes:
            raise DataError(f"{label}:{lineno}: class {cls} out of range 0..{num_classes - 1}")
        x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        if w <= 0 or h <= 0 or min(x0, y0) < -1e-3 or max(x1, y1) > 1 + 1e-3:
            raise DataError(f"{label}:{lineno}: box outside the image (normalised {cx} {cy} {w} {h})")
        objects.append((cls, [max(x0, 0) * width, max(y0, 0) * height, w * width, h * height], points))
    return objects


def _resolve_split(path: Path, data: dict, split: str) -> list[Path]:
    entry = data.get(split) or (data.get("val") if split == "train" else None)
    if not entry:
        raise DataError(f"{path}: no '{split}' split")
    root = Path(data.get("path") or ".")
    root = root if root.is_absolute() else path.parent / root
    folders = entry if isinstance(entry, list) else [entry]
    images: list[Path] = []
    for folder in folders:
        if not isinstance(folder, str) or Path(folder).is_absolute() or ".." in Path(folder).parts:
            raise DataError(
                f"{path}: split '{split}' entry {folder!r} must be a folder inside the dataset root "
                f"{root} (set 'path' to move the root)"
            )
        images += list_images(root / folder)
    return images


def load_yolo(path: Path, split: str = "val") -> DetectionDataset:
    """Load and validate a YOLO dataset split; write its COCO JSON equivalent to the cache."""
    data = _read_yaml(path)
    names = _class_names(path, data["names"])
    shape = _keypoint_shape(path, data)
    records, annotations = [], []
    for image_id, image in enumerate(_resolve_split(path, data, split), 1):
        width, height = image_size(image)
        records.append(ImageRecord(image_id, image, width, height))
        for cls, bbox, points in _parse_label_file(label_path_for(image), len(names), width, height, shape):
            annotation = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": cls,
                "bbox": [round(v, 3) for v in bbox],
                "area": bbox[2] * bbox[3],
                "iscrowd": 0,
            }
            if shape:
                annotation.update(
                    keypoints=points,
                    num_keypoints=sum(v > 0 for v in points[2::3]),
                    area=annotation["area"] * OKS_AREA_FACTOR,
                )
            annotations.append(annotation)
    keypoint_names = {"keypoints": [str(k) for k in range(shape[0])]} if shape else {}
    coco = {
        "images": [{"id": r.image_id, "file_name": r.path.name, "width": r.width, "height": r.height} for r in records],
        "annotations": annotations,
        "categories": [{"id": i, "name": n, **keypoint_names} for i, n in enumerate(names)],
    }
    text = json.dumps(coco)
    target = write_cached_coco(text, digest_text(str(path.resolve()) + split + text))
    return DetectionDataset(
        f"{path.parent.name}/{split}",
        records,
        names,
        list(range(len(names))),
        target,
        len(annotations),
        task_for_annotation_keys(["keypoints"] if shape else []),
    )
