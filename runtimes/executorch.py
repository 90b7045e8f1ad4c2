"""ExecuTorch's own Python runtime (``executorch.runtime``) for ``.pte`` artifacts: the wheel links the XNNPACK
delegate and ExecuTorch's portable kernels.

What the device side pulls in: the ``executorch`` wheel, CPU torch (its Python API takes and returns torch
tensors) and torchao (``executorch.runtime`` imports it); no TensorFlow, no ONNX. The C++ runtime on a phone
or a Pi needs neither, but that is not a Python bench. Threads: XNNPACK's thread pool is process-wide and is
reset to the session's count when it loads.
"""

from __future__ import annotations

import importlib.metadata
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from edgekit.errors import EdgekitError, MissingDependencyError, first_line
from edgekit.manifest import Artifact, TensorSpec
from edgekit.quiet import native_output_to
from edgekit.runtimes.base import ModelDescription, OpTime

_DTYPES = {"Float": "float32", "Half": "float16", "Char": "int8", "Byte": "uint8", "Long": "int64", "Int": "int32"}
#: XNNPACK operator names carry their datatype: QC8/QS8/QU8/X8 are integer kernels, Convert a (de)quantize
_INTEGER = re.compile(r"\b(QC8|QS8|QU8|QD8|X8)\b")


def _runtime() -> Any:
    try:
        with native_output_to():  # its CPU probe logs a line per sysfs file it cannot read
            from executorch.runtime import Runtime
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "executorch", "executorch") from None
    return Runtime.get()


def _set_threads(threads: int) -> None:
    _runtime()  # imported quietly first
    from executorch.extension.pybindings import portable_lib

    with native_output_to():  # "Resetting threadpool to N threads."
        portable_lib._unsafe_reset_threadpool(threads)


def _load(path: Path, **options: Any) -> Any:
    try:
        return _runtime().load_program(path, **options)
    except (RuntimeError, ValueError) as exc:
        raise EdgekitError(f"executorch cannot load {path}: {first_line(exc)}") from None


class ExecutorchSession:
    """The ``forward`` method of a ``.pte``, run on numpy batches."""

    def __init__(self, path: Path, threads: int, program: Any = None) -> None:
        _set_threads(threads)
        self._program = program or _load(path)
        self._method = self._program.load_method("forward")
        self.threads = threads

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        import torch

        outputs = self._method.execute([torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))])
        return [np.asarray(output.numpy(), dtype=np.float32) for output in outputs]


def _kind(event: str) -> str:
    if event.startswith("Convert"):
        return "quantize"
    return "int8" if _INTEGER.search(event) else "float"


class ExecutorchRuntime:
    """Runtime adapter for ``.pte`` artifacts."""

    name = "executorch"

    def version(self) -> str:
        try:
            return importlib.metadata.version("executorch")
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependencyError("executorch", "executorch") from None

    def load(self, artifact: Artifact, threads: int) -> ExecutorchSession:
        return ExecutorchSession(artifact.model_path, threads)

    def describe(self, model_path: Path) -> ModelDescription:
        meta = _load(model_path).metadata("forward")

        def spec(info: Any, name: str, layout: str) -> TensorSpec:
            dtype = str(info.dtype()).split(".")[-1]
            return TensorSpec(name, list(info.sizes()), _DTYPES.get(dtype, dtype.lower()), layout)

        inputs = [spec(meta.input_tensor_meta(i), f"input{i}", "NCHW") for i in range(meta.num_inputs())]
        outputs = [spec(meta.output_tensor_meta(i), f"output{i}", "") for i in range(meta.num_outputs())]
        return ModelDescription(inputs, outputs)

    def profile(self, artifact: Artifact, threads: int, batch: np.ndarray, runs: int) -> tuple[list[OpTime], str]:
        """ExecuTorch's ETDump, read by its devtools Inspector: XNNPACK's per-operator events inside the
        delegate (``Convolution (NHWC, QC8) IGEMM #3``) and each portable kernel outside it."""
        from executorch.devtools import Inspector

        with tempfile.TemporaryDirectory(prefix="edgekit-et-profile-") as work:
            _set_threads(threads)
            session = ExecutorchSession(artifact.model_path, threads, _load(artifact.model_path, enable_etdump=True))
            for _ in range(runs):
                session.run(batch)
            etdump = Path(work) / "run.etdump"
            session._program.write_etdump_result_to_file(str(etdump), str(Path(work) / "debug.bin"))
            frame = Inspector(etdump_path=str(etdump)).to_dataframe()
        # one row per operator instance; XNNPACK numbers operators per subgraph (``... #1`` recurs in each)
        ops, seen = [], Counter[str]()
        for name, raw in zip(frame["event_name"], frame["raw"]):
            if name in ("OPERATOR_CALL", "DELEGATE_CALL") or "::" in name or not len(raw):
                continue
            seen[name] += 1
            unique = name if seen[name] == 1 else f"{name} [subgraph op {seen[name]}]"
            ops.append(
                OpTime(
                    unique, re.sub(r" #\d+$", "", name.removeprefix("native_call_")), _kind(name), float(np.median(raw))
                )
            )
        return ops, f"ExecuTorch ETDump (devtools Inspector), median of {runs} runs per event"


RUNTIME = ExecutorchRuntime()
