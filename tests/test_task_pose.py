"""The pose task (keypoints, OKS mAP): a third task added as one registry entry and its module
(``edgekit.tasks.pose``), read from YOLO pose and COCO keypoints data, and run end to end on a real
Ultralytics YOLOv8n-pose (``benchmarks/models/yolov8n-pose-shapes.onnx``, trained on shapes-pose by
``benchmarks/yolov8n/train.py --arch yolov8n-pose``) through each runtime's INT8 target."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from edgekit.calibration_data.arrows import write_dataset
from edgekit.cli import app
from edgekit.data.datasets import load_coco
from edgekit.data.resolve import resolve_dataset
from edgekit.errors import DataError, EdgekitError
from edgekit.tasks.boxes import Letterbox
from edgekit.tasks.detection import DetectionDecoding
from edgekit.tasks.pose import keypoint_count, keypoint_dims, oks_map, predict_pose
from edgekit.tasks.registry import TASKS
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "benchmarks" / "models" / "yolov8n-pose-shapes.onnx"


@pytest.fixture(scope="module")
def pose_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """shapes-pose: the 200 val images ``yolo val`` scored and 48 training images (a YOLO layout's calibration
    split)."""
    return write_dataset(tmp_path_factory.mktemp("shapes-pose"), train=48, val=200)


def _ground_truth(dataset) -> dict:
    return json.loads(Path(dataset.annotations_path).read_text())


def _as_output(annotations: list[dict], box: Letterbox, anchors: int = 32) -> np.ndarray:
    """A pose model's ``[4 + 1 + 4 * 3, anchors]`` output that holds exactly ``annotations`` (one class)."""
    output = np.zeros((17, anchors), np.float32)
    for column, ann in enumerate(annotations):
        x, y, w, h = ann["bbox"]
        ((x0, y0, x1, y1),) = box.boxes_to_letterbox(np.array([[x, y, x + w, y + h]]))
        output[:5, column] = [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, 0.9]
        points = np.asarray(ann["keypoints"], np.float64).reshape(4, 3)
        output[5::3, column] = points[:, 0] * box.ratio + box.left
        output[6::3, column] = points[:, 1] * box.ratio + box.top
        output[7::3, column] = 0.95
    return output


def test_a_yolo_pose_layout_is_a_pose_dataset_with_coco_keypoints(pose_data: Path) -> None:
    dataset = resolve_dataset(str(pose_data), "val")
    coco = _ground_truth(dataset)
    first = coco["annotations"][0]
    assert dataset.task == "pose" and len(dataset.images) == 200 and dataset.class_names == ["arrow"]
    assert coco["categories"][0]["keypoints"] == ["0", "1", "2", "3"]
    assert len(first["keypoints"]) == 12 and first["num_keypoints"] == 4 and first["keypoints"][2::3] == [2] * 4
    x, y, w, h = first["bbox"]  # keypoints in pixels, inside their box; OKS scale is box area x 0.53
    assert all(
        x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1
        for px, py in zip(first["keypoints"][0::3], first["keypoints"][1::3])
    )
    assert first["area"] == pytest.approx(w * h * 0.53, rel=1e-3)
    subset = dataset.subset({dataset.images[0].path}, pose_data.parent, "one")
    assert subset.task == "pose" and len(subset.images) == 1


def test_a_coco_keypoints_file_is_a_pose_dataset(pose_data: Path, tmp_path: Path) -> None:
    coco = _ground_truth(resolve_dataset(str(pose_data), "val"))
    path = pose_data.parent / "images" / "val" / "keypoints.json"
    path.write_text(json.dumps(coco))
    assert load_coco(path).task == "pose"
    coco["annotations"][0]["keypoints"] = coco["annotations"][0]["keypoints"][:-1]
    path.write_text(json.dumps(coco))
    with pytest.raises(DataError, match=r"annotations\[0\].keypoints must be \[x, y, v\] per keypoint"):
        load_coco(path)


def test_ground_truth_as_predictions_scores_one_and_moved_keypoints_score_less(pose_data: Path) -> None:
    """Decode (NMS, letterbox back to the image) and OKS scoring, on outputs made from the ground truth."""
    dataset = resolve_dataset(str(pose_data), "val")
    coco = _ground_truth(dataset)
    spec = DetectionDecoding()
    exact, moved = [], []
    for record in dataset.images:
        box = Letterbox.fit(record.height, record.width, 256)
        output = _as_output([a for a in coco["annotations"] if a["image_id"] == record.image_id], box)
        args = (spec, 1, 4, box, record.image_id, record.height, record.width, dataset.category_ids)
        exact += predict_pose(output, *args)
        output[5::3] += 4.0  # every keypoint 4 input pixels to the right
        moved += predict_pose(output, *args)
    perfect = oks_map(dataset.annotations_path, exact, 4, 300)
    worse = oks_map(dataset.annotations_path, moved, 4, 300)
    assert perfect["oks_map50_95"] == pytest.approx(1.0, abs=0.01) and perfect["oks_map50"] == pytest.approx(1.0)
    assert worse["oks_map50_95"] < perfect["oks_map50_95"] - 0.05
    assert len(exact[0]["keypoints"]) == 12


def test_an_output_that_does_not_fit_the_keypoints_is_one_line() -> None:
    assert keypoint_dims(17, 1, 4) == 3 and keypoint_dims(13, 1, 4) == 2
    with pytest.raises(
        DataError, match="model output has 9 rows per anchor; a pose model for 1 classes and 4 keypoints has 13 or 17"
    ):
        keypoint_dims(9, 1, 4)


@pytest.mark.parametrize(
    "line, message",
    [
        ("0 0.5 0.5 0.2 0.2 0.5 0.5 2", "expected 'class cx cy w h and 4 keypoints of 3 values'"),
        ("0 0.5 0.5 0.2 0.2" + " nan 0.5 2" * 4, "expected 'class cx cy w h and 4 keypoints of 3 values'"),
        ("0 0.5 0.5 0.2 0.2" + " 1.7 0.5 2" + " 0.5 0.5 2" * 3, "keypoint 0 outside the image"),
    ],
)
def test_a_bad_pose_label_is_one_line(tmp_path: Path, line: str, message: str) -> None:
    root = tmp_path / "bad"
    write_dataset(root, train=0, val=2)
    (root / "labels" / "val" / "val_00000.txt").write_text(line + "\n")
    result = CliRunner().invoke(app, ["bench", str(MODEL), "--data", str(root / "data.yaml")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_bad_kpt_shape_is_one_line(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", train=0, val=2)
    data.write_text(data.read_text().replace("kpt_shape: [4, 3]", "kpt_shape: [4, 5]"))
    with pytest.raises(DataError, match=r"'kpt_shape' must be \[keypoints, 2 or 3\], got \[4, 5\]"):
        resolve_dataset(str(data), "val")


def test_the_pose_task_is_one_registry_entry() -> None:
    spec = TASKS["pose"]
    assert spec.headline == "oks_map50_95" and spec.decoded and spec.evaluator == "edgekit.tasks.pose:evaluate_pose"
    with pytest.raises(EdgekitError, match="task 'pose' has no training_loss"):  # compress cannot train it (yet)
        spec.hook("training_loss")


@pytest.fixture(scope="module")
def pose_exports(pose_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """The committed YOLOv8n-pose exported, in one call, to its FP32 parent and each runtime family's INT8 target
    that converts from ONNX and is installed (the float variants' contract runs on the detectors)."""
    from edgekit.convert.run import export_model
    from edgekit.registry import families, get_target, target_names, unavailable_targets

    quantized = {family.quantized for family in families().values()}
    targets = ["onnx-fp32"] + [
        name
        for name in target_names()
        if name in quantized
        and name not in unavailable_targets()
        and not getattr(get_target(name), "from_module", False)
    ]
    out = tmp_path_factory.mktemp("pose-exports")
    return out, export_model(str(MODEL), targets, out, data=str(pose_data), calib_images=48)


@pytest.mark.slow
def test_a_real_yolov8n_pose_keeps_its_keypoints_in_int8_on_every_runtime(
    pose_exports: tuple[Path, list], tmp_path: Path
) -> None:
    """Task and classes from the ONNX metadata (no ``--task``); each INT8 artifact scored against its FP32 parent
    on the same images, within the task's drop bound."""
    out, rows = pose_exports
    assert all(row.status == "ok" for row in rows), [(row.target, row.status) for row in rows]
    scored = _bench([out / row.target for row in rows], tmp_path)
    parent = scored["onnx-fp32"]["metrics"]
    assert scored["onnx-fp32"]["task"] == "pose" and len(scored) >= 2
    for target, row in scored.items():
        drop = (parent["oks_map50_95"] - row["metrics"]["oks_map50_95"]) * 100
        assert row["metrics"]["map50_95"] > 0 and drop <= TASKS["pose"].int8_drop_bound, (target, drop)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["yolov8n-pose-shapes", "yolo11n-pose-shapes"])
def test_oks_map_is_within_half_a_point_of_yolo_val(model: str, pose_data: Path, tmp_path: Path) -> None:
    """``yolo val``'s OKS mAP of the same ONNX on the same 200 images (``benchmarks/pose/yolo_val.json``, made by
    ``benchmarks/yolov8n/yolo_val.py --task pose``) against ``edgekit bench --preset ultralytics``."""
    from edgekit.convert.run import export_model

    rows = export_model(str(MODEL.with_name(f"{model}.onnx")), ["onnx-fp32"], tmp_path / "out", data=str(pose_data))
    metrics = _bench([rows[0].path], tmp_path)["onnx-fp32"]["metrics"]
    yolo_val = json.loads((ROOT / "benchmarks" / "pose" / "yolo_val.json").read_text())
    reference = next(r for r in yolo_val["results"] if r["model"] == f"{model}.onnx")
    assert abs(metrics["oks_map50_95"] - reference["oks_map50_95"]) <= 0.005, (metrics, reference)
    assert abs(metrics["oks_map50"] - reference["oks_map50"]) <= 0.005, (metrics, reference)


def _bench(paths: list[Path], tmp_path: Path) -> dict[str, dict]:
    """``edgekit bench --preset ultralytics`` of ``paths`` (short timing): {target: results row}."""
    result = CliRunner().invoke(
        app,
        [
            "bench",
            *map(str, paths),
            "--json",
            str(tmp_path / "r.json"),
            "--preset",
            "ultralytics",
            "--runs",
            "2",
            "--warmup",
            "1",
            "--min-seconds",
            "0",
            "--rounds",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    return {row["target"]: row for row in json.loads((tmp_path / "r.json").read_text())["results"]}


def test_an_onnx_whose_metadata_names_an_unknown_task_is_one_line(tmp_path: Path) -> None:
    """An Ultralytics ``-seg`` ONNX says ``task: segment``: refused, not scored as a detector by its output rank."""
    import onnx

    model = onnx.load(str(ROOT / "benchmarks" / "models" / "yolov8n-shapes.onnx"))
    next(p for p in model.metadata_props if p.key == "task").value = "segment"
    onnx.save(model, str(tmp_path / "seg.onnx"))
    result = CliRunner().invoke(
        app, ["export", str(tmp_path / "seg.onnx"), "-t", "onnx-fp32", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert "its metadata names task 'segment', which edgekit does not know" in result.output


def test_a_coco_file_whose_keypoints_do_not_match_its_names_is_one_line(pose_data: Path) -> None:
    """Before: empty keypoint names divided by zero in OKS (exit 3); a count that differed from the names went
    unnoticed."""
    coco = _ground_truth(resolve_dataset(str(pose_data), "val"))
    path = pose_data.parent / "images" / "val" / "mismatch.json"
    coco["categories"][0]["keypoints"] = ["a", "b", "c"]
    path.write_text(json.dumps(coco))
    with pytest.raises(DataError, match=r"annotations\[0\] has 4 keypoints, its category names 3"):
        keypoint_count(path)
    coco["categories"][0]["keypoints"] = []
    for ann in coco["annotations"]:
        ann.pop("keypoints", None)
    path.write_text(json.dumps(coco))
    with pytest.raises(DataError, match="no keypoint names"):
        keypoint_count(path)
