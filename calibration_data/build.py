"""Write the built-in datasets to disk: detection in COCO JSON + YOLO layouts, classification as ImageFolder.

Splits are generated on demand into the edgekit cache, atomically, and are byte-identical each time:
each image ``i`` of a split is drawn from its own generator seeded with ``(split_seed, i)``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from .shapes import CLASS_NAMES, render_classification_image, render_detection_image

DATASET_VERSION = 1
#: split name -> (seed, number of images). ``train`` is only used by the reference training script.
DETECTION_SPLITS: dict[str, tuple[int, int]] = {"calib": (1001, 160), "val": (2002, 200)}
CLASSIFICATION_SPLITS: dict[str, tuple[int, int]] = {"calib": (4004, 160), "val": (5005, 500)}
TRAIN_SEED_DET = 3003
TRAIN_SEED_CLS = 6006


def cache_root() -> Path:
    """Where generated data lives: ``$EDGEKIT_CACHE`` or ``~/.cache/edgekit``."""
    return Path(os.environ.get("EDGEKIT_CACHE") or Path.home() / ".cache" / "edgekit")  # "" is unset, not the cwd


def detection_sample(seed: int, index: int) -> tuple[np.ndarray, list]:
    """Image ``index`` of the detection split seeded with ``seed``."""
    return render_detection_image(np.random.default_rng([seed, index]))


def classification_sample(seed: int, index: int) -> tuple[np.ndarray, int]:
    """Image ``index`` of the classification split seeded with ``seed``, and its class index."""
    rng = np.random.default_rng([seed, index])
    class_id = index % len(CLASS_NAMES)
    return render_classification_image(rng, class_id), class_id


def training_image(name: str, index: int) -> np.ndarray:
    """Image ``index`` of built-in dataset ``name``'s endless training stream (uint8 HWC RGB; labels unused)."""
    if name == "shapes-det":
        return detection_sample(TRAIN_SEED_DET, index)[0]
    return classification_sample(TRAIN_SEED_CLS, index)[0]


def write_detection_split(root: Path, split: str, seed: int, count: int) -> None:
    """Write images ``0..count-1`` of the detection stream ``seed`` as ``split``: YOLO labels + COCO JSON."""
    (root / "images" / split).mkdir(parents=True)
    (root / "labels" / split).mkdir(parents=True)
    images, annotations = [], []
    for index in range(count):
        pixels, objects = detection_sample(seed, index)
        height, width = pixels.shape[:2]
        stem = f"{split}_{index:05d}"
        Image.fromarray(pixels).save(root / "images" / split / f"{stem}.png")
        lines = []
        for obj in objects:
            x0, y0, x1, y1 = obj.box
            w, h = x1 - x0, y1 - y0
            lines.append(
                f"{obj.class_id} {(x0 + w / 2) / width:.6f} {(y0 + h / 2) / height:.6f} "
                f"{w / width:.6f} {h / height:.6f}"
            )
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": index + 1,
                    "category_id": obj.class_id + 1,
                    "bbox": [x0, y0, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
        images.append({"id": index + 1, "file_name": f"{stem}.png", "width": width, "height": height})
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(CLASS_NAMES)],
    }
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(coco))


def _write_detection(root: Path) -> None:
    for split, (seed, count) in DETECTION_SPLITS.items():
        write_detection_split(root, split, seed, count)
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES))
    (root / "data.yaml").write_text(f"path: .\ntrain: images/calib\nval: images/val\nnames:\n{names}\n")


def _write_classification(root: Path) -> None:
    for split, (seed, count) in CLASSIFICATION_SPLITS.items():
        for name in CLASS_NAMES:
            (root / split / name).mkdir(parents=True)
        for index in range(count):
            pixels, class_id = classification_sample(seed, index)
            Image.fromarray(pixels).save(root / split / CLASS_NAMES[class_id] / f"{index:05d}.png")


_WRITERS = {"shapes-det": _write_detection, "shapes-cls": _write_classification}
BUILTIN_DATASETS: tuple[str, ...] = tuple(_WRITERS)


def ensure_dataset(name: str, root: Path | None = None) -> Path:
    """Return the directory of built-in dataset ``name``, generating it first if needed."""
    target = (root or cache_root() / "datasets") / f"{name}-v{DATASET_VERSION}"
    if target.is_dir():
        return target
    from edgekit.fsutil import owning, recover_stale, temp_sibling

    target.parent.mkdir(parents=True, exist_ok=True)
    recover_stale(target.parent)  # half-written splits of killed runs
    with owning(target.parent):  # another run generating beside this one sees these temporaries as alive
        staging = temp_sibling(target)
        staging.mkdir()
        try:
            _WRITERS[name](staging)
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
