"""TFLite targets: ONNX-level remedies, the onnx2tf pin, int8 I/O of tflite-int8, and the LiteRT runtime."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from edgekit.convert.graph_remedies import constants_to_initializers, split_concat_output, split_decode_tail
from edgekit.data.calibration import CalibrationSet
from edgekit.data.resolve import resolve_dataset
from edgekit.errors import MissingDependencyError
from edgekit.manifest import Artifact
from edgekit.registry import get_runtime, get_target

ROOT = Path(__file__).parent.parent


def _sample(artifact_dir: Path) -> np.ndarray:
    manifest = Artifact.load(artifact_dir).manifest
    images = resolve_dataset(manifest.dataset, "val").image_paths[:1]
    return CalibrationSet.from_images(images, manifest.preprocessing).as_array()


def _run(path: Path, feeds: dict) -> list[np.ndarray]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_graph_remedies_keep_the_detector_maths(artifacts, tmp_path):
    parent = artifacts["nano-det"] / "model.onnx"
    x = _sample(artifacts["nano-det"])
    (want,) = _run(parent, {"images": x})
    assembly = split_concat_output(parent, tmp_path / "split.onnx")
    assert assembly == {"concat_axis": 1, "outputs": ["output0_part0", "output0_part1"]}
    boxes, scores = _run(tmp_path / "split.onnx", {"images": x})
    assert boxes.shape == (1, 4, 1344) and scores.shape == (1, 5, 1344)
    np.testing.assert_array_equal(np.concatenate([boxes, scores], 1), want)
    assert constants_to_initializers(parent, tmp_path / "const.onnx") > 0
    np.testing.assert_array_equal(_run(tmp_path / "const.onnx", {"images": x})[0], want)
    cut = split_decode_tail(parent, tmp_path / "body.onnx", tmp_path / "tail.onnx")
    assert len(cut) == 6  # the box and the class branch of each of the three levels
    body = _run(tmp_path / "body.onnx", {"images": x})
    (chained,) = _run(tmp_path / "tail.onnx", dict(zip(cut, body)))
    np.testing.assert_allclose(chained, want, rtol=0, atol=1e-4)


def test_remedies_leave_a_classifier_alone(artifacts, tmp_path):
    parent = artifacts["nano-cls"] / "model.onnx"
    assert split_concat_output(parent, tmp_path / "a.onnx") is None
    assert split_decode_tail(parent, tmp_path / "b.onnx", tmp_path / "c.onnx") is None
    assert not list(tmp_path.iterdir())


def test_onnx2tf_is_installed_at_the_pinned_version_by_ci_and_readme():
    from importlib.metadata import version

    from edgekit.exporters.tflite_common import ONNX2TF_VERSION

    assert version("onnx2tf") == ONNX2TF_VERSION
    pin = f"--no-deps onnx2tf=={ONNX2TF_VERSION}"
    assert pin in (ROOT / ".ci" / "run").read_text()
    assert pin in (ROOT / "README.md").read_text()


def test_missing_tensorflow_names_the_extra(monkeypatch):
    for name in ("edgekit.exporters.tflite_int8", "edgekit.exporters.tflite_common"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    expected = r"tensorflow is not installed: pip install 'edgekit-deploy\[tflite-export\]'"
    with pytest.raises(MissingDependencyError, match=expected):
        get_target("tflite-int8")


def test_missing_interpreter_names_the_extra(monkeypatch):
    runtime_module = importlib.import_module("edgekit.runtimes.tflite")
    for module_name, _ in runtime_module.INTERPRETERS:
        monkeypatch.setitem(sys.modules, module_name, None)
        monkeypatch.setitem(sys.modules, module_name.split(".")[0], None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'edgekit-deploy\[tflite\]'"):
        type(get_runtime("tflite"))().version()


@pytest.fixture(scope="module")
def det_int8(reference_exports) -> Path:
    row = reference_exports("nano-det", "tflite-int8")
    assert row.status == "ok", row.status
    return row.path


@pytest.mark.slow
def test_tflite_int8_is_full_integer_with_int8_io(det_int8):
    from ai_edge_litert.interpreter import Interpreter

    manifest = Artifact.load(det_int8).manifest
    assert manifest.inputs[0].dtype == "int8" and manifest.inputs[0].layout == "NHWC"
    assert manifest.stages == ["decode.tflite"] and manifest.notes["float_decode_stage"]
    assert manifest.notes["float_head_convs"] == 6  # box and class convs of 3 levels run in the float stage
    body = Interpreter(model_path=str(det_int8 / "model.tflite"))
    details = body.get_input_details() + body.get_output_details()
    assert {np.dtype(d["dtype"]).name for d in details} == {"int8"}
    assert all(d["quantization"][0] > 0 for d in details)
    parity = manifest.parity_vs_parent
    assert parity["cosine_boxes"] > 0.999 and parity["cosine_scores"] > 0.99


@pytest.mark.slow
def test_tflite_bench_runs_with_torch_and_tensorflow_unimportable(det_int8, bench_with_blocked_imports):
    row = bench_with_blocked_imports(det_int8, ("torch", "tensorflow", "openvino", "onnx", "onnxruntime"), runs=3)
    assert row["status"] == "ok" and row["runtime_version"].startswith("ai-edge-litert")
    assert row["metrics"]["map50_95"] > 0.7


def test_mean_minmax_ranges_are_the_mean_of_each_images_extremes():
    """tflite-int8's default calibration: a ReLU activation's int8 range is the mean over the images of each
    image's max (NNCF's MEAN_MINMAX), not the converter's maximum over all images; MinMax stays available."""
    import tensorflow as tf
    from edgekit.exporters.tflite_ranges import mean_minmax_calibration

    rng = np.random.default_rng(0)
    # one image with a large activation, as a rare outlier in real data
    samples = [rng.normal(0, 1, (1, 8)).astype(np.float32) * (10.0 if i == 3 else 1.0) for i in range(8)]
    weights = rng.normal(0, 1, (8, 4)).astype(np.float32)
    inputs = tf.keras.Input((8,), batch_size=1)
    outputs = tf.keras.layers.ReLU()(tf.keras.layers.Dense(4, use_bias=False, kernel_initializer="zeros")(inputs))
    model = tf.keras.Model(inputs, outputs)
    model.layers[1].set_weights([weights])

    def convert() -> float:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s] for s in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=converter.convert())
        scale, _ = interpreter.get_output_details()[0]["quantization"]
        return float(scale)

    maxima = [float(np.maximum(s @ weights, 0).max()) for s in samples]
    assert convert() == pytest.approx(max(maxima) / 255, rel=0.02)  # the converter's own: the extreme
    with mean_minmax_calibration():
        assert convert() == pytest.approx(float(np.mean(maxima)) / 255, rel=0.02)
