"""ONNX Runtime (CPU execution provider)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from edgekit.errors import EdgekitError, first_line
from edgekit.manifest import Artifact, TensorSpec
from edgekit.runtimes.base import ModelDescription, OpTime

if os.environ.get("ORT_DISABLE_TELEMETRY") == "1":
    # edgekit's own import sets this before ORT's (edgekit/__init__.py), which turns telemetry off whole; when the
    # caller imported ORT first, this is all that is left to do: ORT's uploader thread stays (docs/reliability.md)
    ort.disable_telemetry_events()

_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8", "tensor(int8)": "int8"}


_QUANTIZE_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}


def _kind(op_type: str, input_types: list[dict[str, Any]]) -> tuple[str, str]:
    """(kind, element types of the inputs) of one profiled node (see ``OpTime``): integer if any input is."""
    dtypes = [key for entry in input_types for key in entry]
    if op_type in _QUANTIZE_OPS:
        return "quantize", ",".join(dtypes)
    return ("int8" if {"int8", "uint8"} & set(dtypes) else "float"), ",".join(dtypes)


class OrtSession:
    """An ``InferenceSession`` with explicit intra-op threads and one inter-op thread."""

    def __init__(self, model_path: str, threads: int, profile_prefix: str | None = None) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if profile_prefix:
            options.enable_profiling = True
            options.profile_file_prefix = profile_prefix
        try:
            self._session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types for bad models
            raise EdgekitError(f"onnxruntime cannot load {model_path}: {first_line(exc)}") from None
        self._input = self._session.get_inputs()[0].name
        self.threads = threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(o, dtype=np.float32) for o in self._session.run(None, {self._input: batch})]

    def end_profiling(self) -> str:
        """Stop profiling; the path of the Chrome-trace JSON ONNX Runtime wrote."""
        return str(self._session.end_profiling())


class OnnxRuntime:
    """Runtime adapter for ``.onnx`` artifacts."""

    name = "onnxruntime"

    def version(self) -> str:
        return str(ort.__version__)

    def load(self, artifact: Artifact, threads: int) -> OrtSession:
        return OrtSession(str(artifact.model_path), threads)

    def describe(self, model_path: Path) -> ModelDescription:
        session = OrtSession(str(model_path), 1)._session

        def specs(values: list[Any], layout: str) -> list[TensorSpec]:
            return [
                TensorSpec(
                    v.name, [d if isinstance(d, int) else -1 for d in v.shape], _DTYPES.get(v.type, v.type), layout
                )
                for v in values
            ]

        return ModelDescription(
            specs(session.get_inputs(), "NCHW"),
            specs(session.get_outputs(), ""),
            dict(session.get_modelmeta().custom_metadata_map),
        )

    def profile(self, artifact: Artifact, threads: int, batch: np.ndarray, runs: int) -> tuple[list[OpTime], str]:
        """ONNX Runtime's own profiler: every kernel's time per run, after its graph fusions (QLinearConv...)."""
        with tempfile.TemporaryDirectory(prefix="edgekit-ort-profile-") as work:
            session = OrtSession(str(artifact.model_path), threads, profile_prefix=str(Path(work) / "ort"))
            for _ in range(runs):
                session.run(batch)
            events = json.loads(Path(session.end_profiling()).read_text())
        durations: dict[str, list[float]] = defaultdict(list)
        kinds: dict[str, tuple[str, str, str]] = {}
        for event in events:
            if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time"):
                continue
            name, args = event["name"][: -len("_kernel_time")], event.get("args", {})
            durations[name].append(event["dur"] / 1000.0)
            kinds.setdefault(
                name, (args.get("op_name", "?"), *_kind(args.get("op_name", ""), args.get("input_type_shape", [])))
            )
        ops = [
            OpTime(name, kinds[name][0], kinds[name][1], float(np.median(times)), kinds[name][2])
            for name, times in durations.items()
        ]
        return ops, f"onnxruntime profiler, median of {runs} runs per kernel"


RUNTIME = OnnxRuntime()
