"""Memory at real size: the export refuses what cannot fit before writing anything, an allocation failure is one
line that says so, ORT's streamed calibration equals the unbounded one where MinMax makes that exact, and
every manifest records what its export took. The limits are real (``prlimit --as``), never a mocked allocator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from edgekit.convert.activations import activation_bytes, calibration_memory_need
from edgekit.convert.qdq import calibration_stride, quantize_qdq
from edgekit.data.calibration import CalibrationSet
from edgekit.data.preprocess import Preprocessing
from edgekit.memory import GIB, MIB, PeakMemory, available_bytes, is_out_of_memory

PRLIMIT = shutil.which("prlimit")
#: the address-space limit the CLI runs under: python + torch + ONNX Runtime map ~1 GB of it before any work
LIMIT = 3 * GIB


def _wide_classifier(path: Path, size: int) -> Path:
    """A real ONNX classifier at ``size`` px: Conv 3->8 (3x3), ReLU, global pooling, 8 logits."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["images", "w"], ["conv"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["logits"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes,
        "wide",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _export_limited(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    command = [PRLIMIT, f"--as={LIMIT}", sys.executable, "-m", "edgekit.cli", "export", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)


def test_activation_bytes_counts_every_intermediate_tensor(tmp_path: Path) -> None:
    model = _wide_classifier(tmp_path / "m.onnx", 64)
    # conv and relu: 8 x 64 x 64 floats each; pool 8; logits 8
    assert activation_bytes(model) == (2 * 8 * 64 * 64 + 8 + 8) * 4
    need = calibration_memory_need(model, 10)
    assert need > 10 * 3 * 64 * 64 * 4


def test_the_stride_is_the_largest_divisor_that_fits() -> None:
    assert calibration_stride(128, 100 * MIB, 768 * MIB) == 2  # 3 would fit, but does not divide 128
    assert calibration_stride(128, 500 * MIB, 768 * MIB) == 1
    assert calibration_stride(7, 1 * MIB, 768 * MIB) == 7
    assert calibration_stride(7, 100 * MIB, 768 * MIB) == 1  # 3 fits, only 1 divides 7


def test_peak_memory_sees_a_step_allocate() -> None:
    with PeakMemory() as peak:
        block = np.ones(200 * MIB // 8)
        block[::4096] += 1
        del block
    assert peak.bytes > 200 * MIB
    assert peak.seconds > 0


def test_an_allocation_failure_is_recognised() -> None:
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("std::bad_alloc"))
    assert is_out_of_memory(RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory"))
    assert not is_out_of_memory(ValueError("shape mismatch"))


def _quantized_at_strides(tmp_path: Path, method: str) -> tuple[Path, CalibrationSet, list[Path]]:
    """A 64 px classifier quantized with ``method`` on 12 images fed 1, 4 and 12 at a time: model, images, outputs."""
    from edgekit.data.resolve import resolve_dataset

    model = _wide_classifier(tmp_path / "m.onnx", 64)
    images = list(resolve_dataset("shapes-cls", "calib").image_paths)
    calib = CalibrationSet.from_images(images, Preprocessing(size=64, resize="resize"), 12)
    written = []
    for stride in (1, 4, 12):
        out = tmp_path / f"q{stride}.onnx"
        assert quantize_qdq(model, out, calib, calibration_method=method, stride=stride) == stride
        written.append(out)
    return model, calib, written


@pytest.mark.parametrize("method", ["MinMax", "Percentile"])
def test_streamed_calibration_equals_the_unbounded_one(tmp_path: Path, method: str) -> None:
    """Percentile too: the streamed histograms start from every tensor's extremes (one pass, one image at a
    time), so their bins are the unbounded call's and the written model is the same, byte for byte."""
    written = [path.read_bytes() for path in _quantized_at_strides(tmp_path, method)[2]]
    assert written[0] == written[1] == written[2]


def _activation_scales(path: Path) -> dict[str, float]:
    """Each quantized activation's scale in a QDQ model, by the tensor its QuantizeLinear reads."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return {n.input[0]: float(values[n.input[1]]) for n in model.graph.node if n.op_type == "QuantizeLinear"}


def test_mean_minmax_averages_every_image_whatever_the_stride(tmp_path: Path) -> None:
    """MeanMinMax: the ReLU output's range (ORT folds the conv into it) is the mean over the images of each
    image's min and max (NNCF's MEAN_MINMAX), the same when ORT sees the images one, four or twelve at a time."""
    import onnx
    import onnxruntime

    model, calib, written = _quantized_at_strides(tmp_path, "MeanMinMax")
    scales = [_activation_scales(path)["relu"] for path in written]

    probe = onnx.load(str(model))
    probe.graph.output.append(onnx.helper.make_tensor_value_info("relu", onnx.TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = [session.run(["relu"], {"images": sample})[0] for sample in calib]
    low = min(float(np.mean([o.min() for o in outputs])), 0.0)
    high = max(float(np.mean([o.max() for o in outputs])), 0.0)
    assert scales[0] == pytest.approx(scales[1], rel=1e-6) and scales[1] == pytest.approx(scales[2], rel=1e-6)
    assert scales[2] == pytest.approx((high - low) / 255, rel=1e-5)
    global_high = max(float(o.max()) for o in outputs)
    assert high < global_high  # the mean, not the extreme: an image whose maximum stands out moves it less


@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) is not installed")
def test_under_a_real_limit_the_guard_refuses_before_writing_anything(tmp_path: Path) -> None:
    model = _wide_classifier(tmp_path / "wide.onnx", 2048)  # 128 images at the input alone: 6 GB
    out = tmp_path / "out"
    done = _export_limited([str(model), "-t", "ort-int8", "--data", "shapes-cls", "-o", str(out)], tmp_path)
    lines = done.stderr.strip().splitlines() + done.stdout.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert "calibration needs about" in errors[0] and "address-space limit" in errors[0]
    assert "--calib-images or --imgsz" in errors[0]
    assert not out.exists()


@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) is not installed")
def test_an_allocation_failure_under_a_real_limit_is_one_line_with_the_peak(tmp_path: Path) -> None:
    """The guard lets 16 images through (it sizes one streamed image), then ORT's Percentile calibrator is told
    to hold all 16 images' outputs at once (about 8 GB): the allocation fails and the row says it ran out of
    memory. (The default MeanMinMax keeps only each image's min and max, so it fits here.)"""
    model = _wide_classifier(tmp_path / "wide.onnx", 2048)
    out = tmp_path / "out"
    code = (
        "from pathlib import Path; from edgekit.convert.run import export_model; "
        f"rows = export_model({str(model)!r}, ['ort-int8'], Path({str(out)!r}), data='shapes-cls', calib_images=16, "
        "overrides={'ort-int8': {'calibration_memory_mb': 1000000, 'calibration_method': 'Percentile'}}); "
        "print(rows[0].status)"
    )
    done = subprocess.run(
        [PRLIMIT, f"--as={LIMIT}", sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    status = done.stdout.strip().splitlines()[-1]  # the row the export table prints
    assert status.startswith("export failed: ort-int8 ran out of memory (peak ") and status.endswith(
        "lower --calib-images or --imgsz"
    )
    assert not (out / "ort-int8").exists()


@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) is not installed")
def test_streamed_calibration_fits_where_the_unbounded_one_did_not(tmp_path: Path) -> None:
    """The same 16 images streamed (the default) under the same limit: the export succeeds, and its manifest
    records a peak below the limit and the stride it used."""
    model = _wide_classifier(tmp_path / "wide.onnx", 2048)
    out = tmp_path / "out"
    args = [str(model), "-t", "ort-int8", "--data", "shapes-cls", "-o", str(out), "--calib-images", "16"]
    done = _export_limited(args, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    manifest = json.loads((out / "ort-int8" / "edgekit.json").read_text())
    assert 0 < manifest["export_resources"]["peak_rss_bytes"] < LIMIT
    assert manifest["export_resources"]["seconds"] > 0
    assert manifest["notes"]["calibration_stride"] < 16


def test_available_memory_reads_the_address_space_limit() -> None:
    code = "from edgekit.memory import available_bytes; print(available_bytes()[1])"
    if PRLIMIT is None:
        pytest.skip("prlimit (util-linux) is not installed")
    done = subprocess.run(
        [PRLIMIT, f"--as={8 * GIB}", sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "address-space limit" in done.stdout
    room, _ = available_bytes()
    assert room > 0


@pytest.mark.skipif(PRLIMIT is None, reason="prlimit (util-linux) is not installed")
def test_a_float_export_is_not_refused_for_calibration_it_does_not_do(tmp_path: Path) -> None:
    """Only INT8 targets calibrate: onnx-fp32 of the same wide model under the same limit is written."""
    model = _wide_classifier(tmp_path / "wide.onnx", 2048)
    out = tmp_path / "out"
    done = _export_limited([str(model), "-t", "onnx-fp32", "--data", "shapes-cls", "-o", str(out)], tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (out / "onnx-fp32" / "edgekit.json").is_file()
