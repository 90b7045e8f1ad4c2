"""Deterministic generator of the built-in ``shapes`` datasets.

Detection images hold several shapes (five classes) at small, medium and large scales on textured,
noisy backgrounds with clutter strokes that are not objects, and with some overlap between objects.
Classification images hold one shape each. The same seed always gives the same pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

CLASS_NAMES: tuple[str, ...] = ("circle", "rectangle", "triangle", "cross", "ring")
IMAGE_SIZES: tuple[tuple[int, int], ...] = ((320, 240), (256, 256), (240, 320), (288, 224))


@dataclass(frozen=True)
class DrawnObject:
    """One labelled object: class index and its box ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive)."""

    class_id: int
    box: tuple[int, int, int, int]


def _smooth_noise(rng: np.random.Generator, width: int, height: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1], shape (H, W, 3), made by upsampling a small random grid."""
    grid = (rng.random((cells, cells, 3)) * 255).astype(np.uint8)
    big = Image.fromarray(grid).resize((width, height), Image.BICUBIC)
    return np.asarray(big, dtype=np.float32) / 255.0


def textured_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A textured background (H, W, 3) float32 in 0..255: base colour, blotches, optional stripes."""
    base = rng.uniform(30, 225, size=3).astype(np.float32)
    texture = _smooth_noise(rng, width, height, int(rng.integers(3, 9))) - 0.5
    image = base + texture * rng.uniform(40, 110)
    if rng.random() < 0.4:
        period = rng.uniform(6, 30)
        angle = rng.uniform(0, math.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        wave = np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period)
        image += wave[..., None] * rng.uniform(8, 25)
    return image


def contrasting_colour(rng: np.random.Generator, background_mean: np.ndarray) -> tuple[int, int, int]:
    """A random colour far enough from the background mean to be visible."""
    for _ in range(50):
        colour = rng.integers(0, 256, size=3)
        if np.abs(colour - background_mean).sum() > 150:
            break
    return tuple(int(c) for c in colour)


def _polygon(cx: float, cy: float, radius: float, sides: int, rotation: float) -> list[tuple[int, int]]:
    return [
        (
            round(cx + radius * math.cos(rotation + 2 * math.pi * k / sides)),
            round(cy + radius * math.sin(rotation + 2 * math.pi * k / sides)),
        )
        for k in range(sides)
    ]


def _draw_shape(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    class_id: int,
    cx: int,
    cy: int,
    size: int,
    colour: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw one shape centred at (cx, cy) with extent ``size``; return its tight box."""
    half = max(size // 2, 3)
    name = CLASS_NAMES[class_id]
    if name == "circle":
        box = (cx - half, cy - half, cx + half, cy + half)
        draw.ellipse(box, fill=colour)
    elif name == "rectangle":
        aspect = rng.uniform(0.55, 1.8)
        hw, hh = max(round(half * math.sqrt(aspect)), 2), max(round(half / math.sqrt(aspect)), 2)
        box = (cx - hw, cy - hh, cx + hw, cy + hh)
        draw.rectangle(box, fill=colour)
    elif name == "triangle":
        points = _polygon(cx, cy, half, 3, rng.uniform(0, 2 * math.pi))
        draw.polygon(points, fill=colour)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (min(xs), min(ys), max(xs), max(ys))
    elif name == "cross":
        arm = max(half // 3, 1)
        draw.rectangle((cx - half, cy - arm, cx + half, cy + arm), fill=colour)
        draw.rectangle((cx - arm, cy - half, cx + arm, cy + half), fill=colour)
        box = (cx - half, cy - half, cx + half, cy + half)
    else:  # ring
        box = (cx - half, cy - half, cx + half, cy + half)
        draw.ellipse(box, outline=colour, width=max(half // 4, 2))
    return box[0], box[1], box[2] + 1, box[3] + 1


def draw_clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, height: int) -> None:
    """Thin strokes and dots that are not objects."""
    for _ in range(int(rng.integers(0, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x0, x1 = rng.integers(0, width, size=2)
        y0, y1 = rng.integers(0, height, size=2)
        if rng.random() < 0.6:
            draw.line((int(x0), int(y0), int(x1), int(y1)), fill=colour, width=int(rng.integers(1, 3)))
        else:
            r = int(rng.integers(1, 3))
            draw.ellipse((int(x0) - r, int(y0) - r, int(x0) + r, int(y0) + r), fill=colour)


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def add_noise(rng: np.random.Generator, image: Image.Image) -> np.ndarray:
    """The image as uint8 pixels with Gaussian noise of a random strength added."""
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels + rng.normal(0, rng.uniform(3, 12), size=pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def render_detection_image(rng: np.random.Generator) -> tuple[np.ndarray, list[DrawnObject]]:
    """Render one detection image (H, W, 3) uint8 RGB and its labelled objects."""
    width, height = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    background = textured_background(rng, width, height)
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw_clutter(draw, rng, width, height)
    objects: list[DrawnObject] = []
    bg_mean = background.reshape(-1, 3).mean(axis=0)
    max_size = int(min(width, height) * 0.6)
    for _ in range(int(rng.integers(1, 9))):
        size = int(math.exp(rng.uniform(math.log(10), math.log(max_size))))
        class_id = int(rng.integers(len(CLASS_NAMES)))
        for _attempt in range(30):
            margin = int(size * 0.7) + 2  # covers a stretched rectangle (up to 1.34 x half)
            cx = int(rng.integers(margin, width - margin))
            cy = int(rng.integers(margin, height - margin))
            guess = (cx - margin, cy - margin, cx + margin, cy + margin)
            if all(_iou(guess, o.box) < 0.15 for o in objects):
                box = _draw_shape(draw, rng, class_id, cx, cy, size, contrasting_colour(rng, bg_mean))
                objects.append(DrawnObject(class_id, box))
                break
    return add_noise(rng, image), objects


def render_classification_image(rng: np.random.Generator, class_id: int, side: int = 64) -> np.ndarray:
    """Render one classification image (side, side, 3) uint8 RGB holding one shape of ``class_id``."""
    background = textured_background(rng, side, side)
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw_clutter(draw, rng, side, side)
    size = int(rng.integers(side * 3 // 8, side * 7 // 8))
    jitter = (side - size) // 2
    cx = side // 2 + int(rng.integers(-jitter, jitter + 1))
    cy = side // 2 + int(rng.integers(-jitter, jitter + 1))
    _draw_shape(draw, rng, class_id, cx, cy, size, contrasting_colour(rng, background.reshape(-1, 3).mean(0)))
    return add_noise(rng, image)
