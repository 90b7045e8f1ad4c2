"""The Runtime protocol: ``load(artifact, threads) -> Session``; ``Session.run(NCHW float32) -> outputs``.

A session returns outputs in the parent model's convention, hiding layout transposes and int8 I/O
(de)quantization, so the harness never needs to know about them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edgekit.manifest import Artifact


class Session(Protocol):
    """A loaded model ready to run."""

    threads: int

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run one NCHW float32 batch; return outputs as float32 arrays in the parent's convention."""
        ...


class Runtime(Protocol):
    """An inference engine adapter."""

    name: str

    def version(self) -> str:
        """The engine's version string (recorded with every measurement)."""
        ...

    def load(self, artifact: Artifact, threads: int) -> Session:
        """Load the artifact's model with an explicit thread count."""
        ...
