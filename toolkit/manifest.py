"""The artifact manifest (``edgekit.json``): everything the device side needs to run and score a model.

Plain typed data, versioned, read with ``json`` only (never evaluated).
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import EdgekitError
from .preprocess import Preprocessing

MANIFEST_NAME = "edgekit.json"
MANIFEST_SCHEMA = 1


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the runtime sees it (int8 tensors carry their scale/zero-point)."""

    name: str
    shape: list[int]
    dtype: str = "float32"
    layout: str = "NCHW"
    scale: float | None = None
    zero_point: int | None = None


@dataclass(frozen=True)
class Manifest:
    """Describes one artifact directory."""

    target: str
    runtime: str
    model_file: str
    files: list[str]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    task: str
    preprocessing: Preprocessing
    class_names: list[str]
    source: str
    parent_sha256: str
    model_sha256: str
    dataset: str | None = None
    decoding: dict[str, Any] | None = None
    parity: dict[str, float] | None = None
    parity_vs_parent: dict[str, float] | None = None
    output_assembly: dict[str, Any] | None = None
    #: further model files run after ``model_file``, each fed the previous one's outputs by name
    stages: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    tool_versions: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    schema: int = MANIFEST_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Manifest":
        data = dict(data)
        if data.get("schema") != MANIFEST_SCHEMA:
            raise EdgekitError(f"unsupported manifest schema {data.get('schema')!r} (this edgekit reads "
                               f"{MANIFEST_SCHEMA})")
        data["preprocessing"] = Preprocessing.from_dict(data["preprocessing"])
        data["inputs"] = [TensorSpec(**t) for t in data["inputs"]]
        data["outputs"] = [TensorSpec(**t) for t in data["outputs"]]
        return cls(**data)

    def save(self, directory: Path) -> Path:
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


@dataclass(frozen=True)
class Artifact:
    """An artifact directory and its manifest."""

    path: Path
    manifest: Manifest

    @property
    def model_path(self) -> Path:
        return self.path / self.manifest.model_file

    @classmethod
    def load(cls, directory: Path) -> "Artifact":
        """Read ``directory/edgekit.json``; a missing or malformed manifest is a one-line error."""
        path = Path(directory) / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise EdgekitError(f"not an edgekit artifact (no {MANIFEST_NAME}): {directory}") from None
        except json.JSONDecodeError as exc:
            raise EdgekitError(f"corrupt manifest {path}: {exc}") from None
        try:
            manifest = Manifest.from_dict(data)
        except (TypeError, KeyError) as exc:
            raise EdgekitError(f"invalid manifest {path}: {exc}") from None
        for name in manifest.files:
            if not (Path(directory) / name).is_file():
                raise EdgekitError(f"artifact {directory} is missing {name}")
        return cls(Path(directory), manifest)


def host_environment() -> dict[str, Any]:
    """Where a measurement was taken: CPU model, cores, OS, Python."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}
