"""OpenVINO runtime (CPU plugin), latency hint, explicit inference threads, float parts in FP32.

On CPUs with AVX-512 BF16 or AMX, OpenVINO runs float operations in bfloat16 unless told otherwise; that made
an ``openvino-int8`` YOLOv8n's float decode tail (pixel-scale boxes) cost 0.17 mAP50-95 points at no speed
gain (``--profile`` showed the bf16 kernels). ``INFERENCE_PRECISION_HINT = f32`` runs every artifact at the
precision it was exported in, on every CPU.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
from edgekit.errors import EdgekitError, first_line
from edgekit.manifest import Artifact, TensorSpec
from edgekit.runtimes.base import ModelDescription, OpTime


class OpenVinoSession:
    """A compiled model and one infer request."""

    def __init__(self, core: ov.Core, model_path: str, threads: int, profile: bool = False) -> None:
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32",
            **({"PERF_COUNT": True} if profile else {}),
        }
        try:
            self._compiled = core.compile_model(model_path, "CPU", config)
        except RuntimeError as exc:
            raise EdgekitError(f"OpenVINO cannot load {model_path}: {first_line(exc)}") from None
        self._request = self._compiled.create_infer_request()
        self._outputs = len(self._compiled.outputs)
        self.threads = threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        self._request.infer({0: batch})
        return [np.array(self._request.get_output_tensor(i).data, dtype=np.float32) for i in range(self._outputs)]

    def counters(self) -> list[Any]:
        """The performance counters of the last inference (the session was made with ``profile=True``)."""
        return list(self._request.get_profiling_info())


def _kind(info: Any) -> str:
    """``OpTime.kind`` of one OpenVINO performance counter: by its kernel's precision suffix."""
    if info.node_type == "FakeQuantize" or "fq_output" in info.node_name:
        return "quantize"
    precision = info.exec_type.rsplit("_", 1)[-1].lower()
    return "int8" if precision in ("i8", "u8") else "float"


class OpenVinoRuntime:
    """Runtime adapter for OpenVINO IR (``.xml`` + ``.bin``) artifacts."""

    name = "openvino"

    def version(self) -> str:
        return str(ov.get_version())

    def load(self, artifact: Artifact, threads: int) -> OpenVinoSession:
        return OpenVinoSession(ov.Core(), str(artifact.model_path), threads)

    def describe(self, model_path: Path) -> ModelDescription:
        try:
            model = ov.Core().read_model(str(model_path))
        except RuntimeError as exc:
            raise EdgekitError(f"OpenVINO cannot read {model_path}: {first_line(exc)}") from None

        def specs(ports: list[Any], layout: str) -> list[TensorSpec]:
            return [
                TensorSpec(
                    port.get_any_name() if port.get_names() else f"port{i}",
                    [d.get_length() if d.is_static else -1 for d in port.get_partial_shape()],
                    str(port.get_element_type().to_dtype()),
                    layout,
                )
                for i, port in enumerate(ports)
            ]

        return ModelDescription(specs(model.inputs, "NCHW"), specs(model.outputs, ""))

    def profile(self, artifact: Artifact, threads: int, batch: np.ndarray, runs: int) -> tuple[list[OpTime], str]:
        """The CPU plugin's performance counters (``PERF_COUNT``): executed nodes of the compiled graph."""
        session = OpenVinoSession(ov.Core(), str(artifact.model_path), threads, profile=True)
        durations: dict[str, list[float]] = defaultdict(list)
        kinds: dict[str, OpTime] = {}
        for _ in range(runs):
            session.run(batch)
            for info in session.counters():
                if info.status == info.Status.EXECUTED:
                    durations[info.node_name].append(info.real_time.total_seconds() * 1000.0)
                    kinds.setdefault(
                        info.node_name, OpTime(info.node_name, info.node_type, _kind(info), 0.0, info.exec_type)
                    )
        ops = [
            OpTime(name, kinds[name].op_type, kinds[name].kind, float(np.median(times)), kinds[name].detail)
            for name, times in durations.items()
        ]
        return ops, f"OpenVINO performance counters, median of {runs} runs per node"


RUNTIME = OpenVinoRuntime()
