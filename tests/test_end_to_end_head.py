"""YOLO26's end-to-end (NMS-free) head: the host-side top-k that replaces NMS, the ONNX that says it holds such
a head, and the ``--head`` option's refusals. Where Ultralytics imports (its own venv), the committed YOLO26n
checkpoint's e2e export is decoded by edgekit and compared with Ultralytics' own end-to-end output."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest
from cli_lines import one_error_line
from edgekit.cli import app
from edgekit.convert.onnx_utils import DECODING_FORMAT_KEY, stamp_decoding_format
from edgekit.convert.sources import load_source
from edgekit.errors import EdgekitError, ExportError
from edgekit.tasks.detection import DetectionDecoding, select_detections, select_end_to_end
from onnx import TensorProto, helper
from typer.testing import CliRunner

MODELS = Path(__file__).parent.parent / "benchmarks" / "models"
HAS_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None
E2E = DetectionDecoding(format="xyxy-topk", conf_threshold=0.001, max_detections=300)
runner = CliRunner()


_one_line = one_error_line


def _output(boxes: list[list[float]], scores: list[list[float]]) -> np.ndarray:
    """``[4 + nc, N]`` from per-anchor xyxy boxes and class scores."""
    return np.concatenate([np.array(boxes, np.float32).T, np.array(scores, np.float32).T])


def test_overlapping_boxes_are_all_kept_without_nms():
    box = [10.0, 10.0, 50.0, 50.0]
    output = _output([box, box, [11, 11, 51, 51]], [[0.9, 0.0], [0.8, 0.0], [0.7, 0.0]])
    anchors, xyxy, scores, classes = select_end_to_end(output, E2E)
    assert anchors.tolist() == [0, 1, 2] and classes.tolist() == [0, 0, 0]
    assert np.allclose(scores, [0.9, 0.8, 0.7]) and np.allclose(xyxy[0], box)
    assert len(select_detections(output, DetectionDecoding())[0]) == 1  # the NMS layout keeps one of them


def test_top_k_anchors_then_top_k_anchor_class_pairs():
    """k = 2: the two anchors with the highest best-class score, then the two highest (anchor, class) pairs among
    them: anchor 0 twice (classes 0 and 1); anchor 2's 0.6 never competes (its anchor is not in the top 2)."""
    output = _output([[0, 0, 1, 1]] * 3, [[0.9, 0.85, 0.0], [0.0, 0.0, 0.8], [0.6, 0.0, 0.0]])
    anchors, _, scores, classes = select_end_to_end(output, dataclasses.replace(E2E, max_detections=2))
    assert anchors.tolist() == [0, 0] and classes.tolist() == [0, 1] and np.allclose(scores, [0.9, 0.85])


def test_the_confidence_threshold_and_non_finite_values_drop_candidates():
    output = _output([[0, 0, 1, 1], [np.nan, 0, 1, 1], [0, 0, 2, 2]], [[0.5, 0.0], [0.99, 0.0], [np.nan, 0.2]])
    anchors, _, scores, classes = select_end_to_end(output, dataclasses.replace(E2E, conf_threshold=0.3))
    assert anchors.tolist() == [0] and classes.tolist() == [0] and np.allclose(scores, [0.5])


def test_the_format_is_checked_and_a_preset_keeps_the_models_own(tmp_path):
    from edgekit.bench.harness import _decoding
    from edgekit.bench.options import BenchOptions

    assert DetectionDecoding.from_dict({"format": "xyxy-topk"}).format == "xyxy-topk"
    with pytest.raises(EdgekitError, match="unsupported values"):
        DetectionDecoding.from_dict({"format": "xyxy-nms"})

    class _Manifest:
        task, decoding = "detect", {"format": "xyxy-topk", "box_scale": 1.0}

    chosen = _decoding(_Manifest(), BenchOptions(preset="ultralytics"))
    assert chosen is not None and chosen.format == "xyxy-topk" and chosen.iou_threshold == 0.7


def _detector_onnx(path: Path, fmt: str | None) -> Path:
    node = helper.make_node("Conv", ["images", "w"], ["output0"], kernel_shape=[1, 1])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 32, 32])],
        [helper.make_tensor("w", TensorProto.FLOAT, [6, 3, 1, 1], np.zeros(18, np.float32))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model = onnx.shape_inference.infer_shapes(model)
    reshape = helper.make_node("Reshape", ["output0", "shape"], ["det"])
    model.graph.node.append(reshape)
    model.graph.initializer.append(helper.make_tensor("shape", TensorProto.INT64, [3], [1, 6, 1024]))
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("det", TensorProto.FLOAT, [1, 6, 1024]))
    onnx.save(model, str(path))
    if fmt is not None:
        stamp_decoding_format(path, {"format": fmt})
    return path


def test_an_onnx_stamped_as_end_to_end_is_decoded_as_such(tmp_path):
    assert load_source(str(_detector_onnx(tmp_path / "plain.onnx", None))).card.decoding["format"] == "xywh-scores"
    stamped = _detector_onnx(tmp_path / "e2e.onnx", "xyxy-topk")
    assert load_source(str(stamped)).card.decoding["format"] == "xyxy-topk"
    model = onnx.load(str(stamped))
    model.metadata_props[0].value = "boxes-of-another-kind"
    onnx.save(model, str(stamped))
    with pytest.raises(ExportError, match=DECODING_FORMAT_KEY):
        load_source(str(stamped))


@pytest.mark.parametrize("head, expected", [("e2e", "nano-det is not one"), ("both", "choose one of e2e, o2m")])
def test_head_on_a_model_without_two_heads_is_one_line(tmp_path, head, expected):
    line = _one_line(["export", "nano-det", "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--head", head])
    assert expected in line and not (tmp_path / "o").exists()


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
def test_e2e_head_on_a_one_headed_checkpoint_is_one_line(tmp_path):
    args = ["export", str(MODELS / "yolov8n-shapes.pt"), "--trust", "-t", "onnx-fp32", "-o", str(tmp_path / "o")]
    line = _one_line(args + ["--head", "e2e", "--data", "shapes-det"])
    assert "has no end-to-end (one-to-one) head" in line and not (tmp_path / "o").exists()


@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
def test_the_e2e_export_decodes_to_ultralytics_own_end_to_end_detections(tmp_path):
    """The e2e ONNX (one-to-one head, top-k left to the host) decoded by edgekit gives the detections Ultralytics'
    own end-to-end forward (its ``Detect.postprocess``) gives on the same input."""
    import onnxruntime as ort
    import torch

    checkpoint = MODELS / "yolo26n-shapes-converged.pt"
    args = ["export", str(checkpoint), "--trust", "-t", "onnx-fp32", "-o", str(tmp_path / "o"), "--head", "e2e"]
    result = runner.invoke(app, args + ["--data", "shapes-det"])
    assert result.exit_code == 0, result.output
    from edgekit.manifest import Artifact

    artifact = Artifact.load(tmp_path / "o" / "onnx-fp32")
    assert artifact.manifest.decoding["format"] == "xyxy-topk"
    from edgekit.data.calibration import CalibrationSet
    from edgekit.data.resolve import resolve_dataset

    paths = resolve_dataset("shapes-det", "calib").image_paths
    image = next(iter(CalibrationSet.from_images(paths, artifact.manifest.preprocessing, 1)))
    ours = ort.InferenceSession(str(artifact.model_path)).run(None, {"images": image})[0][0]
    _, xyxy, scores, classes = select_end_to_end(ours, E2E)
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = (saved.get("ema") or saved["model"]).float().eval()
    model.model[-1].end2end = True
    with torch.no_grad():
        theirs = model(torch.from_numpy(image))[0][0].numpy()  # [300, 6]: x1 y1 x2 y2 score class
    kept = theirs[theirs[:, 4] > E2E.conf_threshold]
    assert len(kept) == len(scores)
    assert np.allclose(np.sort(kept[:, 4]), np.sort(scores), atol=1e-4)
    top = np.argsort(-kept[:, 4])[:20]  # the confident ones are well separated: same boxes and classes
    assert np.allclose(kept[top, :4], xyxy[:20], atol=1e-2) and (kept[top, 5] == classes[:20]).all()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_ULTRALYTICS, reason="needs the ultralytics extra (its own venv)")
def test_compress_prunes_yolo26_with_its_one_to_many_head_and_refuses_the_end_to_end_one(tmp_path):
    """The one-to-one branch is dropped and the rest pruned (its attention C3k2 kept whole); asking compress to
    keep the end-to-end head is one line, before anything is written."""
    import json

    checkpoint = str(MODELS / "yolo26n-shapes-converged.pt")
    common = [checkpoint, "--trust", "--prune", "0.3", "--prune-by", "macs", "--imgsz", "64", "--data", "shapes-det"]
    line = _one_line(["compress", *common, "--head", "e2e", "-o", str(tmp_path / "e2e.pt")])
    assert "keeps a YOLO26's one-to-many head only" in line
    assert not (tmp_path / "e2e.pt").exists()
    report = tmp_path / "r.json"
    args = ["compress", *common, "--head", "o2m", "-o", str(tmp_path / "o2m.pt"), "--json", str(report)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["after"]["macs"] <= 0.72 * document["before"]["macs"]
    result = runner.invoke(
        app, ["export", str(tmp_path / "o2m.pt"), "--trust", "-t", "onnx-fp32", "-o", str(tmp_path / "a")]
    )
    assert result.exit_code == 0, result.output
