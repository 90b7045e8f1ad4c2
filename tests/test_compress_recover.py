"""Recovery with labels (``--recover auto|labels|kd``): labelled images, augmentation, edgekit's own losses,
and the CLI contract, on the built-in models (no Ultralytics)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from edgekit.cli import app
from edgekit.compress.detection_loss import DetectionLoss
from edgekit.compress.labelled import Labelled, augment, has_labels, labelled_images
from edgekit.compress.options import DistillOptions
from edgekit.compress.recover import recovery_mode
from edgekit.convert.sources import load_source
from edgekit.errors import DataError
from edgekit.models.ultralytics_raw import targets_as_ultralytics_batch
from typer.testing import CliRunner

runner = CliRunner()


def _yolo_split(det_dataset_root: Path, root: Path) -> Path:
    """A YOLO dataset whose train split is the built-in calib images (labels and all) and val its val images."""
    for split, source in (("train", "calib"), ("val", "val")):
        for kind in ("images", "labels"):
            shutil.copytree(det_dataset_root / kind / source, root / kind / split)
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames: [circle, rectangle, triangle, cross, ring]\n"
    )
    return root / "data.yaml"


def test_recovery_mode_uses_labels_when_the_data_has_them(tmp_path: Path) -> None:
    auto, kd, labels = DistillOptions(), DistillOptions(recover="kd"), DistillOptions(recover="labels")
    assert recovery_mode(auto, "shapes-det", None) == "labels" and recovery_mode(kd, "shapes-det", None) == "kd"
    (tmp_path / "imgs").mkdir()
    assert not has_labels("shapes-det", tmp_path / "imgs")  # an image folder has no labels
    assert recovery_mode(auto, "shapes-det", tmp_path / "imgs") == "kd"
    with pytest.raises(DataError, match="--recover labels needs labelled training images"):
        recovery_mode(labels, "shapes-det", tmp_path / "imgs")


def test_labelled_yolo_images_carry_their_boxes_onto_the_canvas(tmp_path: Path, det_dataset_root: Path) -> None:
    data = _yolo_split(det_dataset_root, tmp_path / "yolo")
    card = load_source("nano-det").card
    images, origin = labelled_images(str(data), card.preprocessing, 8)
    assert isinstance(images, Labelled) and origin.endswith("(train split, with labels)")
    assert images.canvases.shape == (8, 256, 256, 3) and len(images.labels) == 8
    rows = np.concatenate(images.labels)
    assert len(rows) > 0 and set(np.unique(rows[:, 0])) <= set(range(5))
    assert (rows[:, 1:] >= -0.5).all() and (rows[:, 1:] <= 256.5).all() and (rows[:, 3] > rows[:, 1]).all()
    # the box holds the shape: its pixels differ from the image's border colour more than the border does
    canvas, (_cls, x0, y0, x1, y1) = images.canvases[0], images.labels[0][0]
    inside = canvas[int(y0) + 2 : int(y1) - 2, int(x0) + 2 : int(x1) - 2].astype(float)
    assert inside.std() > 0


def test_augmentation_keeps_boxes_on_the_canvas_and_flips_them(tmp_path: Path) -> None:
    canvas = np.zeros((1, 64, 64, 3), np.uint8)
    canvas[0, 10:20, 5:15] = 255  # a white box at x 5..15, y 10..20
    boxes = [np.array([[1, 5, 10, 15, 20]], np.float32)]
    for seed in range(20):
        out, moved = augment(canvas, boxes, np.random.default_rng(seed), pad_value=0)
        for box in moved[0]:
            assert 0 <= box[1] < box[3] <= 64 and 0 <= box[2] < box[4] <= 64
            x0, y0, x1, y1 = (int(round(v)) for v in box[1:])
            assert out[0, y0:y1, x0:x1].mean() > 150  # the labelled pixels moved with the box
    flipped, moved = augment(canvas, boxes, np.random.default_rng(1), pad_value=0, scale_jitter=0.0)
    assert moved[0][0].tolist() in ([1, 5, 10, 15, 20], [1, 49, 10, 59, 20])


def test_edgekit_detection_loss_prefers_the_true_labels(det_dataset_root: Path) -> None:
    """The trained nano-det's raw maps score lower against the images' own labels than against another
    image's: the loss measures what the labels say."""
    source = load_source("nano-det")
    stream = labelled_images("shapes-det", source.card.preprocessing, 8)[0]
    batch = stream(0)
    pixels = torch.from_numpy(batch.canvases).permute(0, 3, 1, 2).float() / 255.0
    model = source.module.train()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    with torch.no_grad():
        raw = model(pixels)
    loss = DetectionLoss(5, 256)
    true = [torch.from_numpy(b) for b in batch.labels]
    shifted = true[1:] + true[:1]
    assert loss(raw, true)[0] < 0.6 * loss(raw, shifted)[0]
    ultra = targets_as_ultralytics_batch(true, 256)
    assert ultra["bboxes"].shape == (sum(len(t) for t in true), 4) and float(ultra["bboxes"].max()) <= 1.0


def test_recover_labels_trains_a_pruned_classifier_with_cross_entropy(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "compress",
            "nano-cls",
            "--prune",
            "0.5",
            "--prune-by",
            "macs",
            "--recover",
            "labels",
            "--epochs",
            "3",
            "--kd-images",
            "512",
            "-o",
            str(tmp_path / "s.pt"),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    pruned, recovered = document["steps"]
    assert recovered["step"] == "recover" and recovered["recovered_with"] == "labels"
    assert recovered["task_loss"] == "cross-entropy" and len(recovered["epoch_seconds"]) == 3
    assert document["recovery_seconds"] == pytest.approx(recovered["seconds"])
    assert recovered["metrics"]["top1"] > pruned["metrics"]["top1"] + 0.2  # labels brought it back


def test_recover_labels_without_labels_and_a_bad_mode_are_one_line_errors(tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(images / "a.png")
    for args, message in (
        (["--recover", "labels", "--images", str(images)], "needs labelled training images"),
        (["--recover", "bogus"], "--recover must be one of auto, labels, kd"),
    ):
        result = runner.invoke(app, ["compress", "nano-cls", "--prune", "0.5", *args, "-o", str(tmp_path / "o.pt")])
        assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output, result.output
    assert not (tmp_path / "o.pt").exists()


@pytest.mark.parametrize("importance", ["taylor", "hessian"])
def test_gradient_criteria_rank_channels_by_the_task_loss(tmp_path: Path, importance: str) -> None:
    """Taylor / Hessian importance read the task loss's gradients on labelled images; they prune to the same
    budget as magnitude does, and choose other channels."""
    reports = {}
    for name in (importance, "l2"):
        reports[name] = tmp_path / f"{name}.json"
        result = runner.invoke(
            app,
            [
                "compress",
                "nano-cls",
                "--prune",
                "0.5",
                "--prune-by",
                "macs",
                "--importance",
                name,
                "-o",
                str(tmp_path / f"{name}.pt"),
                "--json",
                str(reports[name]),
            ],
        )
        assert result.exit_code == 0, result.output
    ours, magnitude = (json.loads(reports[n].read_text())["after"] for n in (importance, "l2"))
    assert ours["macs"] <= 0.55 * json.loads(reports["l2"].read_text())["before"]["macs"]
    assert ours["metrics"] != magnitude["metrics"]  # another ranking, other channels kept
    images = tmp_path / "imgs"
    images.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(images / "a.png")
    result = runner.invoke(
        app,
        [
            "compress",
            "nano-cls",
            "--prune",
            "0.5",
            "--importance",
            importance,
            "--images",
            str(images),
            "-o",
            str(tmp_path / "x.pt"),
        ],
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "needs a dataset with a labelled train split" in result.output
    assert not (tmp_path / "x.pt").exists()
