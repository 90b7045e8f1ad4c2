"""The Runtime protocol: ``load(artifact, threads) -> Session``; ``Session.run(NCHW float32) -> outputs``.

A session returns outputs in the parent model's convention, hiding layout transposes and int8 I/O
(de)quantization, so the harness never needs to know about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from edgekit.manifest import Artifact, TensorSpec


class Session(Protocol):
    """A loaded model ready to run."""

    threads: int

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run one NCHW float32 batch; return outputs as float32 arrays in the parent's convention."""
        ...


@dataclass(frozen=True)
class ModelDescription:
    """What a model file says about itself: its tensors and its metadata (Ultralytics writes task, imgsz and
    names there), for benching a model file that has no edgekit manifest."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OpTime:
    """One operator's time per inference in a runtime's own profile.

    ``kind`` is what it computes in: ``int8`` (integer kernels), ``float`` (float kernels: an island in a
    quantized model) or ``quantize`` (a quantize, dequantize or requantize boundary); ``detail`` is the
    runtime's own word for the kernel (OpenVINO's exec type, a TFLite input type).
    """

    name: str
    op_type: str
    kind: str
    ms: float
    detail: str = ""


class Runtime(Protocol):
    """An inference engine adapter."""

    name: str

    def version(self) -> str:
        """The engine's version string (recorded with every measurement)."""
        ...

    def load(self, artifact: Artifact, threads: int) -> Session:
        """Load the artifact's model with an explicit thread count."""
        ...

    def describe(self, model_path: Path) -> ModelDescription:
        """Inputs, outputs and metadata of a model file (``EdgekitError`` when the runtime cannot read it)."""
        ...

    def profile(self, artifact: Artifact, threads: int, batch: np.ndarray, runs: int) -> tuple[list[OpTime], str]:
        """Per-operator time of ``runs`` inferences of ``batch`` (median per operator), and how it was taken."""
        ...
