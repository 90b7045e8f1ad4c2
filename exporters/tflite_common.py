"""Shared by the TFLite targets: ONNX -> Keras graph with onnx2tf, then TensorFlow's TFLite converter.

onnx2tf (pinned: ``ONNX2TF_VERSION``) only translates the graph; its own quantization path (ImageNet mean/std
by default, a sample-image download) is never used. The TFLite converter of the pinned TensorFlow is the
conversion backend for every variant, fed the model's own CalibrationSet: samples are already preprocessed
with the model's mean/std, so no converter-side normalisation applies. The translated graph is cached per
parent model within a process, so ``--target all`` runs onnx2tf once for the four TFLite targets.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from edgekit.quiet import native_output_to

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with native_output_to():  # absl/oneDNN start-up lines
    import tensorflow as tf  # noqa: E402

from edgekit.config import TargetConfig  # noqa: E402
from edgekit.convert.graph_remedies import (  # noqa: E402
    constants_to_initializers,
    head_output_convs,
    split_concat_output,
    split_decode_tail,
)
from edgekit.convert.onnx_utils import onnx_io_specs  # noqa: E402
from edgekit.convert.padding import fold_same_padding  # noqa: E402
from edgekit.data.calibration import CalibrationSet  # noqa: E402
from edgekit.errors import ExportError, first_line  # noqa: E402
from edgekit.manifest import TensorSpec  # noqa: E402

from .base import Conversion  # noqa: E402
from .tflite_ranges import METHODS, mean_minmax_calibration  # noqa: E402

ONNX2TF_VERSION = "1.29.24"
ONNX2TF_INSTALL = f"pip install 'edgekit-deploy[tflite-export]' && pip install --no-deps onnx2tf=={ONNX2TF_VERSION}"
#: onnx2tf loads (else downloads) this file from its working directory to check its translation
ONNX2TF_SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
_GRAPHS: dict[str, Any] = {}


@dataclass(frozen=True)
class TfliteConfig(TargetConfig):
    """``split_outputs``: give a ``[B, 4+nc, N]`` detector output as separate boxes and scores tensors."""

    split_outputs: bool = True


def _onnx2tf() -> Any:
    try:
        import onnx2tf
    except ModuleNotFoundError:
        raise ExportError(f"onnx2tf is not installed: {ONNX2TF_INSTALL}") from None
    installed = importlib.metadata.version("onnx2tf")
    if installed != ONNX2TF_VERSION:
        raise ExportError(
            f"onnx2tf {installed} is installed; edgekit is tested with {ONNX2TF_VERSION}: "
            f"pip install --no-deps onnx2tf=={ONNX2TF_VERSION}"
        )
    return onnx2tf


@contextlib.contextmanager
def _working_directory(path: str) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _nhwc(samples: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(samples.transpose(0, 2, 3, 1), dtype=np.float32)


def _translate(onnx_path: Path, calib: CalibrationSet) -> Any:
    """The onnx2tf Keras model of ``onnx_path``, translated once per file content."""
    key = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    if key not in _GRAPHS:
        onnx2tf = _onnx2tf()
        sample = _nhwc(calib.take(20).as_array())
        with tempfile.TemporaryDirectory(prefix="edgekit-onnx2tf-") as work, _working_directory(work):
            np.save(ONNX2TF_SAMPLE_FILE, sample)  # onnx2tf's check images: ours, never a download
            log = Path(work) / "onnx2tf.log"
            try:
                with native_output_to(log):
                    _GRAPHS[key] = onnx2tf.convert(
                        input_onnx_file_path=str(onnx_path),
                        output_folder_path=work,
                        disable_model_save=True,
                        non_verbose=True,
                        not_use_onnxsim=True,
                    )
            except SystemExit as stop:  # onnx2tf ends with sys.exit(1) on some failures: not past this target
                raise ExportError(f"onnx2tf gave up (exit {stop.code}): {log_tail(log)}") from None
    return _GRAPHS[key]


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def log_tail(log: Path, characters: int = 300) -> str:
    """The last lines of a converter's log as one line (colour codes stripped), at most ``characters`` long."""
    text = ANSI_ESCAPE.sub("", log.read_text(errors="replace")) if log.is_file() else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tail = " | ".join(lines[-3:]) or "no log"
    return tail if len(tail) <= characters else "..." + tail[-characters:]


def _frozen_saved_model(model: Any, folder: Path) -> Path:
    """``model`` as a SavedModel whose one signature has the Keras input and output names, its variables
    folded into constants. onnx2tf leaves some variables untracked by the Keras model (YOLO11's depthwise
    positional-encoding conv in its attention); ``from_keras_model`` then cannot save it and silently writes a
    flatbuffer without a SignatureDef, which no signature runner can run."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = [tf.TensorSpec(t.shape, t.dtype, name=name) for t, name in zip(model.inputs, model.input_names)]
    graph = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0]), input_signature=specs)
    frozen = convert_variables_to_constants_v2(graph.get_concrete_function())
    names = list(model.output_names)

    def signature(*xs: Any) -> dict[str, Any]:
        outputs = frozen(*xs)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return dict(zip(names, outputs))

    root = tf.Module()
    root.serve = tf.function(signature, input_signature=specs)
    tf.saved_model.save(root, str(folder), signatures=root.serve.get_concrete_function())
    return folder


def _converter(model: Any, mode: str, calib: CalibrationSet, per_channel: bool, saved: Path | None = None) -> Any:
    converter = (
        tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if saved is not None
        else tf.lite.TFLiteConverter.from_keras_model(model)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "drq":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        channels_last = list(model.inputs[0].shape[1:]) != list(next(iter(calib)).shape[1:])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([_nhwc(sample) if channels_last else sample] for sample in calib)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        converter._experimental_disable_per_channel = not per_channel
    return converter


def _tensor_specs(model_file: Path, onnx_outputs: list[TensorSpec]) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Input and output specs read back from the written model (dtype, int8 scale/zero point)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_file))
    runner = interpreter.get_signature_runner()

    def spec(name: str, detail: dict[str, Any], shape: list[int], layout: str) -> TensorSpec:
        scale, zero_point = detail["quantization"]
        quantized = np.issubdtype(detail["dtype"], np.integer)
        return TensorSpec(
            name,
            shape,
            np.dtype(detail["dtype"]).name,
            layout,
            float(scale) if quantized else None,
            int(zero_point) if quantized else None,
        )

    inputs = [
        spec(name, d, [int(x) for x in d["shape"]], "NHWC" if len(d["shape"]) == 4 else "")
        for name, d in runner.get_input_details().items()
    ]
    details = runner.get_output_details()
    outputs = [spec(o.name, details.get(o.name, d), o.shape, "") for o, d in zip(onnx_outputs, details.values())]
    return inputs, outputs


def _has_signature(flatbuffer: bytes) -> bool:
    from ai_edge_litert.interpreter import Interpreter

    return bool(Interpreter(model_content=flatbuffer).get_signature_list())


def _prepared_graph(onnx_path: Path, work: Path, split_outputs: bool) -> tuple[Path, dict[str, Any] | None]:
    """The ONNX graph onnx2tf translates: outputs split if asked (and possible), Constants as initializers,
    convolutions padded like SAME marked so (no separate PAD op)."""
    assembly = split_concat_output(onnx_path, work / "split.onnx") if split_outputs else None
    constants_to_initializers(work / "split.onnx" if assembly else onnx_path, work / "graph.onnx")
    fold_same_padding(work / "graph.onnx", work / "graph.onnx")
    return work / "graph.onnx", assembly


def _write_tflite(
    graph: Path, mode: str, calib: CalibrationSet, per_channel: bool, dst: Path, calibration: str = "MinMax"
) -> None:
    model = _translate(graph, calib)
    ranges = mean_minmax_calibration() if mode == "int8" and calibration == "MeanMinMax" else contextlib.nullcontext()
    with (
        tempfile.TemporaryDirectory(prefix="edgekit-tflite-") as work,
        native_output_to(Path(work) / "converter.log"),
        ranges,
    ):
        try:
            with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": int8 I/O, intended
                warnings.simplefilter("ignore", UserWarning)
                flatbuffer = _converter(model, mode, calib, per_channel).convert()
                if not _has_signature(flatbuffer):
                    saved = _frozen_saved_model(model, Path(work) / "saved")
                    flatbuffer = _converter(model, mode, calib, per_channel, saved).convert()
        except Exception as exc:  # noqa: BLE001 - the converter raises ConverterError and friends
            raise ExportError(f"TFLite converter ({mode}): {first_line(exc, 300)}") from None
    dst.write_bytes(flatbuffer)


def convert_tflite(onnx_path: Path, calib: CalibrationSet, mode: str, out_dir: Path, cfg: TfliteConfig) -> Conversion:
    """Write ``model.tflite`` of variant ``mode`` (fp32, fp16, drq, int8) into ``out_dir``.

    With ``keep_decode_float`` (int8 only) a detector's decode tail becomes a float ``decode.tflite`` stage
    fed by the full-integer body, whose own input and outputs stay int8.
    """
    stages: list[str] = []
    with tempfile.TemporaryDirectory(prefix="edgekit-tflite-graph-") as tmp:
        work = Path(tmp)
        graph, assembly = _prepared_graph(onnx_path, work, cfg.split_outputs)
        _, onnx_outputs = onnx_io_specs(graph)
        per_channel = getattr(cfg, "per_channel", True)
        calibration = getattr(cfg, "calibration_method", "MinMax")
        if calibration not in METHODS:
            raise ExportError(f"{mode}: calibration_method must be one of {', '.join(METHODS)}, got {calibration!r}")
        tail_from, keep_decode = list(getattr(cfg, "float_tail_from", ())), getattr(cfg, "keep_decode_float", False)
        head_convs = []
        if mode == "int8" and keep_decode and getattr(cfg, "float_head_convs", False):
            head_convs = [name for name in head_output_convs(graph) if name not in tail_from]
        if (
            mode == "int8"
            and (keep_decode or tail_from)
            and split_decode_tail(graph, work / "body.onnx", work / "decode.onnx", tail_from + head_convs, keep_decode)
        ):
            _write_tflite(work / "body.onnx", mode, calib, per_channel, out_dir / "model.tflite", calibration)
            _write_tflite(work / "decode.onnx", "fp32", calib, per_channel, out_dir / "decode.tflite")
            stages = ["decode.tflite"]
        else:
            _write_tflite(graph, mode, calib, per_channel, out_dir / "model.tflite", calibration)
    inputs, _ = _tensor_specs(out_dir / "model.tflite", [])
    _, outputs = _tensor_specs(out_dir / (stages or ["model.tflite"])[-1], onnx_outputs)
    versions = {"onnx2tf": ONNX2TF_VERSION, "tensorflow": tf.__version__}
    notes = {
        "variant": mode,
        "calibration_images": len(calib) if mode == "int8" else 0,
        "calibration_method": calibration if mode == "int8" else None,
        "split_outputs": bool(assembly),
        "float_decode_stage": bool(stages),
        "float_tail_from": len(tail_from),
        "float_head_convs": len(head_convs) if stages else 0,
    }
    return Conversion("model.tflite", ["model.tflite", *stages], inputs, outputs, versions, notes, assembly, stages)


class TfliteTarget:
    """One TFLite variant as a registered target."""

    runtime = "tflite"

    def __init__(
        self,
        name: str,
        mode: str,
        config_cls: type[TfliteConfig] = TfliteConfig,
        float_nodes_option: str | None = None,
        budget_alternatives: tuple[dict[str, Any], ...] = (),
    ) -> None:
        self.name, self.mode, self.config_cls = name, mode, config_cls
        self.budget_alternatives = budget_alternatives
        if float_nodes_option:
            self.float_nodes_option = float_nodes_option

    def convert(self, onnx_path: Path, calib: CalibrationSet, cfg: TfliteConfig, out_dir: Path) -> Conversion:
        return convert_tflite(onnx_path, calib, self.mode, out_dir, cfg)
