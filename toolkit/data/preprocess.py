"""Image preprocessing described by data (travels in the artifact manifest) and applied in numpy + Pillow."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DataError
from ..schema import check_list, check_object
from ..tasks.boxes import Letterbox
from ..tasks.registry import TASKS, check_task

MAX_SIZE = 8192
_OPTIONAL = {"resize": str, "pad_value": int, "mean": list, "std": list, "channel_order": str, "extra": dict}


@dataclass(frozen=True)
class Preprocessing:
    """How a uint8 RGB image becomes the model's NCHW float32 input.

    ``resize`` is ``letterbox`` (keep aspect, pad with ``pad_value``) or ``resize`` (stretch to size).
    Pixels are scaled to [0, 1], then ``(x - mean) / std`` per channel.
    """

    size: int
    resize: str = "letterbox"
    pad_value: int = 114
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channel_order: str = "RGB"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Preprocessing:
        """Checked: a size in 1..8192, a known resize mode and channel order, 3 means and 3 non-zero stds."""
        data = dict(check_object(data, "preprocessing", {"size": int}, _OPTIONAL))
        if not 1 <= data["size"] <= MAX_SIZE:
            raise DataError(f"preprocessing.size must be in 1..{MAX_SIZE}, got {data['size']}")
        if data.get("resize", "letterbox") not in ("letterbox", "resize"):
            raise DataError(f"preprocessing.resize must be 'letterbox' or 'resize', got {data['resize']!r}")
        if data.get("channel_order", "RGB") not in ("RGB", "BGR"):
            raise DataError(f"preprocessing.channel_order must be 'RGB' or 'BGR', got {data['channel_order']!r}")
        if not 0 <= data.get("pad_value", 0) <= 255:
            raise DataError(f"preprocessing.pad_value must be in 0..255, got {data['pad_value']}")
        for key in ("mean", "std"):
            if key in data:
                values = check_list(data[key], (int, float), f"preprocessing.{key}")
                if len(values) != 3 or (key == "std" and 0 in values):
                    raise DataError(f"preprocessing.{key} must be 3 numbers{' (non-zero)' if key == 'std' else ''}")
                data[key] = tuple(float(v) for v in values)
        return cls(**data)

    def canvas(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """uint8 HWC RGB -> (the resized, padded uint8 HWC canvas in ``channel_order``, its letterbox geometry)."""
        height, width = image.shape[:2]
        if self.resize == "letterbox":
            box = Letterbox.fit(height, width, self.size)
        else:
            box = Letterbox(min(self.size / height, self.size / width), 0, 0, self.size, self.size)
        resized = np.asarray(Image.fromarray(image).resize((box.new_width, box.new_height), Image.BILINEAR))
        canvas = np.full((self.size, self.size, 3), self.pad_value, dtype=np.uint8)
        canvas[box.top : box.top + box.new_height, box.left : box.left + box.new_width] = resized
        if self.channel_order == "BGR":
            canvas = canvas[..., ::-1]
        return canvas, box

    def normalize(self, canvases: np.ndarray) -> np.ndarray:
        """uint8 (..., H, W, 3) canvases -> float32 (..., 3, H, W): scaled to [0, 1], then ``(x - mean) / std``."""
        pixels = canvases.astype(np.float32) / 255.0
        pixels = (pixels - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(np.moveaxis(pixels, -1, -3))

    def apply(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """uint8 HWC RGB -> (CHW float32, the letterbox geometry used)."""
        canvas, box = self.canvas(image)
        return self.normalize(canvas), box


def check_task_and_size(task: Any, imgsz: Any) -> None:
    """``--task`` must be a known task and ``--imgsz`` an integer size in 1..MAX_SIZE (user models and files)."""
    if task is not None:
        check_task(task)
    if imgsz is not None and (isinstance(imgsz, bool) or not isinstance(imgsz, int) or not 1 <= imgsz <= MAX_SIZE):
        raise DataError(f"--imgsz must be in 1..{MAX_SIZE}, got {imgsz!r}")


def default_preprocessing(task: str, imgsz: int | None, ultralytics: bool = False) -> Preprocessing:
    """Ultralytics-style letterbox for detectors; resize + ImageNet normalisation for classifiers (Ultralytics'
    own classifiers take unnormalised pixels)."""
    spec = TASKS[task]
    if ultralytics:
        return Preprocessing(size=imgsz or spec.default_size, resize=spec.resize)
    return Preprocessing(size=imgsz or spec.default_size, resize=spec.resize, mean=spec.mean, std=spec.std)


@contextlib.contextmanager
def opened_image(path: Path) -> Iterator[Image.Image]:
    """``Image.open`` with every failure as a ``DataError`` naming the file: missing, corrupt, or a header
    claiming more pixels than Pillow's decompression-bomb limit (~89 MP)."""
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                yield img
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"image too large: {path} (header claims more than {Image.MAX_IMAGE_PIXELS} pixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(f"corrupt or unreadable image: {path} ({exc.__class__.__name__})") from None


def read_image(path: Path) -> np.ndarray:
    """Read an image file as uint8 HWC RGB, or raise ``DataError`` naming the file."""
    with opened_image(Path(path)) as img:
        try:
            return np.asarray(img.convert("RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise DataError(f"corrupt or unreadable image: {path} ({exc.__class__.__name__})") from None
