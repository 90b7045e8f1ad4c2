"""shapes-pose: a deterministic keypoint dataset in the Ultralytics YOLO pose layout (the pose task's data).

Each image holds one to five arrows on the shapes-det backgrounds (textures, stripes, clutter strokes, noise).
An arrow has four keypoints: its tip, its tail, and the ends of its left and right barbs (left and right seen
from the tail, so a mirror swaps them: ``flip_idx: [0, 1, 3, 2]``). Every keypoint is visible. Labels are
``class cx cy w h x y v ...`` normalised to the image, and ``data.yaml`` says ``kpt_shape: [4, 3]``.
Image ``i`` of a split is drawn from its own generator seeded with ``(split seed, i)``: the same pixels every run.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .shapes import IMAGE_SIZES, add_noise, contrasting_colour, draw_clutter, textured_background

KEYPOINTS = ("tip", "tail", "left_barb", "right_barb")
FLIP_INDEX = (0, 1, 3, 2)
SPLIT_SEEDS = {"train": 7007, "val": 8008}

Point = tuple[float, float]


def _arrow(cx: float, cy: float, length: float, angle: float) -> tuple[Point, ...]:
    """Tip, tail, left barb and right barb of an arrow centred at (cx, cy) pointing along ``angle``."""
    dx, dy = math.cos(angle), math.sin(angle)
    tip = (cx + dx * length / 2, cy + dy * length / 2)
    tail = (cx - dx * length / 2, cy - dy * length / 2)
    barb = length * 0.35
    ends = []
    for side in (1, -1):  # image y grows downwards: +1 turns to the left of an arrow seen from its tail
        back = angle + math.pi + side * math.radians(35)
        ends.append((tip[0] + math.cos(back) * barb, tip[1] + math.sin(back) * barb))
    return tip, tail, ends[0], ends[1]


def _box(points: tuple[Point, ...], pad: float) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def render_pose_image(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[tuple[float, ...], tuple[Point, ...]]]]:
    """One image (H, W, 3) uint8 and its arrows: (box x0 y0 x1 y1, keypoints) in pixels."""
    width, height = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    background = textured_background(rng, width, height)
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw_clutter(draw, rng, width, height)
    bg_mean = background.reshape(-1, 3).mean(axis=0)
    arrows: list[tuple[tuple[float, ...], tuple[Point, ...]]] = []
    for _ in range(int(rng.integers(1, 6))):
        length = math.exp(rng.uniform(math.log(24), math.log(min(width, height) * 0.7)))
        stroke = max(2, round(length / 10))
        for _attempt in range(30):
            angle = rng.uniform(0, 2 * math.pi)
            cx, cy = (
                rng.uniform(length / 2 + 4, width - length / 2 - 4),
                rng.uniform(length / 2 + 4, height - length / 2 - 4),
            )
            points = _arrow(cx, cy, length, angle)
            box = _box(points, stroke / 2)
            if (
                box[0] < 0
                or box[1] < 0
                or box[2] > width - 1
                or box[3] > height - 1
                or any(_overlaps(box, other) for other, _ in arrows)
            ):
                continue
            colour = contrasting_colour(rng, bg_mean)
            tip, tail, left, right = points
            for start in (tail, left, right):
                draw.line((start, tip), fill=colour, width=stroke)
            arrows.append((box, points))
            break
    return add_noise(rng, image), arrows


def _label_line(box: tuple[float, ...], points: tuple[Point, ...], width: int, height: int) -> str:
    x0, y0, x1, y1 = box
    fields = [(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height]
    for x, y in points:
        fields += [x / width, y / height, 2]
    return "0 " + " ".join(f"{v:.6f}" if isinstance(v, float) else str(v) for v in fields)


def write_split(root: Path, split: str, count: int) -> None:
    """Images ``0..count-1`` of ``split`` as PNGs with their YOLO pose labels."""
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels, arrows = render_pose_image(np.random.default_rng([SPLIT_SEEDS[split], index]))
        height, width = pixels.shape[:2]
        stem = f"{split}_{index:05d}"
        Image.fromarray(pixels).save(root / "images" / split / f"{stem}.png")
        lines = [_label_line(box, points, width, height) for box, points in arrows]
        (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")


def write_dataset(root: Path, train: int, val: int) -> Path:
    """shapes-pose under ``root`` (``train`` may be 0: a val-only copy for scoring); returns its data.yaml."""
    write_split(root, "val", val)
    if train:
        write_split(root, "train", train)
    data = root / "data.yaml"
    data.write_text(
        f"path: {root.resolve()}\ntrain: images/{'train' if train else 'val'}\nval: images/val\n"
        f"names:\n  0: arrow\nkpt_shape: [4, 3]\nflip_idx: {list(FLIP_INDEX)}\n"
    )
    return data
