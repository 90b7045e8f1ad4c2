"""CalibrationSet: one backend-neutral set of preprocessed NCHW float32 samples, seeded and reusable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import DEFAULT_CALIBRATION_IMAGES
from .preprocess import Preprocessing, read_image


@dataclass(frozen=True)
class CalibrationSet:
    """Image files plus the model's own preprocessing; samples are (1, 3, H, W) float32."""

    images: tuple[Path, ...]
    preprocessing: Preprocessing

    @classmethod
    def from_images(
        cls, images: list[Path], preprocessing: Preprocessing, count: int = DEFAULT_CALIBRATION_IMAGES, seed: int = 0
    ) -> CalibrationSet:
        """Pick ``count`` images (a seeded sample when there are more)."""
        if not images:
            raise DataError("no calibration images")
        if len(images) > count:
            picked = np.random.default_rng(seed).choice(len(images), size=count, replace=False)
            images = [images[i] for i in sorted(picked)]
        return cls(tuple(images), preprocessing)

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[np.ndarray]:
        for path in self.images:
            yield self.preprocessing.apply(read_image(path))[0][None]

    def take(self, count: int) -> CalibrationSet:
        """The first ``count`` samples (e.g. for a parity check)."""
        return CalibrationSet(self.images[:count], self.preprocessing)

    def as_array(self) -> np.ndarray:
        """All samples stacked: (N, 3, H, W) float32."""
        return np.concatenate(list(self), axis=0)


def noise_images(preprocessing: Preprocessing, count: int, folder: Path, seed: int = 0) -> list[Path]:
    """``count`` seeded uniform-noise PNGs of the model's input size written into ``folder``: what a float export
    checks parity on when there is no dataset at all (they prove the conversion, never accuracy)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        pixels = rng.integers(0, 256, (preprocessing.size, preprocessing.size, 3), dtype=np.uint8)
        paths.append(folder / f"noise_{index:03d}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths
