"""The artifact manifest (``edgekit.json``): everything the device side needs to run and score a model.

Plain typed data, versioned, read with ``json`` only (never evaluated).
"""

from __future__ import annotations

import importlib.util
import json
import platform
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .card import CARD_KEYS, CARD_OPTIONAL, CARD_REQUIRED, ModelCard
from .data.preprocess import Preprocessing
from .errors import EdgekitError
from .fsutil import sha256_file
from .onnx_files import external_data_locations
from .schema import check_list, check_object, check_value, dataclass_schema, read_json_file

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
    """Describes one artifact directory: its files and tensors, and the model's card (task, preprocessing,
    class names, dataset, decoding; written as the manifest's own top-level keys, as in schema 1)."""

    target: str
    runtime: str
    model_file: str
    files: list[str]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    card: ModelCard
    source: str
    parent_sha256: str
    model_sha256: str
    parity: dict[str, float] | None = None
    parity_vs_parent: dict[str, float] | None = None
    output_assembly: dict[str, Any] | None = None
    #: further model files run after ``model_file``, each fed the previous one's outputs by name
    stages: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    tool_versions: dict[str, str] = field(default_factory=dict)
    #: sha256 of each listed file (``model_sha256`` covers ``model_file`` in manifests that predate this)
    file_sha256: dict[str, str] = field(default_factory=dict)
    #: what the conversion took: ``peak_rss_bytes`` (the exporting process) and wall ``seconds``
    export_resources: dict[str, Any] = field(default_factory=dict)
    #: where the artifact came from: command, source revision, tool versions, machine, load (``provenance()``)
    provenance: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    schema: int = MANIFEST_SCHEMA

    @property
    def task(self) -> str:
        return self.card.task

    @property
    def preprocessing(self) -> Preprocessing:
        return self.card.preprocessing

    @property
    def class_names(self) -> list[str]:
        return self.card.class_names

    @property
    def dataset(self) -> str | None:
        return self.card.dataset

    @property
    def decoding(self) -> dict[str, Any] | None:
        return self.card.decoding

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "card"}
        for key in ("export_resources", "provenance"):  # earlier releases had neither: they write back unchanged
            if not data[key]:
                del data[key]
        data["inputs"], data["outputs"] = [asdict(t) for t in self.inputs], [asdict(t) for t in self.outputs]
        return data | self.card.to_dict()

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """Check every field's type (``EdgekitError`` naming the first bad one), then build the manifest."""
        check_value(data, dict, "manifest")
        if data.get("schema") != MANIFEST_SCHEMA:
            raise EdgekitError(
                f"unsupported manifest schema {data.get('schema')!r} (this edgekit reads {MANIFEST_SCHEMA!r})"
            )
        data = dict(check_object(data, "manifest", _REQUIRED, _OPTIONAL))
        for key in ("files", "stages"):
            check_list(data.get(key, []), str, f"manifest.{key}")
        data["card"] = ModelCard.from_dict({key: data.pop(key) for key in CARD_KEYS if key in data}, "manifest")
        for key in ("inputs", "outputs"):
            check_list(data[key], dict, f"manifest.{key}", min_length=1)
            data[key] = [_tensor_spec(t, f"manifest.{key}[{i}]") for i, t in enumerate(data[key])]
        assembly = data.get("output_assembly")
        if assembly is not None:
            check_object(assembly, "manifest.output_assembly", {"concat_axis": int}, strict=False)
        return cls(**data)

    def save(self, directory: Path) -> Path:
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


#: the manifest's JSON keys and types, from the fields of ``Manifest`` and of the ``ModelCard`` it carries
_OWN_REQUIRED, _OWN_OPTIONAL = dataclass_schema(Manifest, required=("schema",), exclude=("card",))
_REQUIRED, _OPTIONAL = _OWN_REQUIRED | CARD_REQUIRED, _OWN_OPTIONAL | CARD_OPTIONAL
_TENSOR, _TENSOR_OPTIONAL = dataclass_schema(TensorSpec)


def _tensor_spec(data: Any, where: str) -> TensorSpec:
    check_object(data, where, _TENSOR, _TENSOR_OPTIONAL)
    check_list(data["shape"], int, f"{where}.shape")
    return TensorSpec(**data)


def _contained(directory: Path, name: str, where: str) -> Path:
    """``directory / name`` when ``name`` is a relative path that stays inside ``directory``."""
    path = Path(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise EdgekitError(f"{where} {name!r} must be a relative path inside the artifact")
    resolved = (directory / path).resolve()
    if directory.resolve() not in resolved.parents:
        raise EdgekitError(f"{where} {name!r} points outside the artifact")
    return resolved


def _check_no_strays(directory: Path, listed: set[str]) -> None:
    """An artifact holds plain files its manifest lists and nothing else: no symbolic links, and no unlisted
    file an ONNX model could read as external data (ONNX Runtime loads any file inside the model's folder)."""
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_symlink():
            raise EdgekitError(f"artifact {directory}: {name} is a symbolic link; an artifact holds plain files only")
        if path.is_file() and name != MANIFEST_NAME and name not in listed:
            raise EdgekitError(
                f"artifact {directory}: {name} is not listed in its manifest; remove it or export the artifact again"
            )


def _check_external_data(directory: Path, manifest: Manifest, listed: set[str]) -> None:
    """Where the ``onnx`` package is installed (the export side), every external-data location of the ONNX
    model files is relative, inside the artifact and listed (so hashed); on the device ONNX Runtime >= 1.24
    refuses locations outside the model's folder, and ``_check_no_strays`` leaves only listed files there."""
    if importlib.util.find_spec("onnx") is None:
        return
    for name in (n for n in [manifest.model_file, *manifest.stages] if n.endswith(".onnx")):
        for location in external_data_locations(directory / name):
            _contained(directory, location, f"{name}: external data location")
            if Path(location).as_posix() not in listed:
                raise EdgekitError(
                    f"artifact {directory}: {name} reads external data from {location!r}, which its "
                    "manifest does not list"
                )


def _check_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest names lies inside the artifact, is listed in ``files`` and matches its hash;
    nothing else lies there, and ONNX external data is listed too."""
    listed = set(manifest.files)
    _check_no_strays(directory, listed)
    for name in manifest.files:
        if not _contained(directory, name, "manifest file").is_file():
            raise EdgekitError(f"artifact {directory} is missing {name}")
    for name in [manifest.model_file, *manifest.stages]:
        _contained(directory, name, "model file")
        if name not in listed:
            raise EdgekitError(f"invalid manifest {directory / MANIFEST_NAME}: {name} is not listed in 'files'")
    expected = dict(manifest.file_sha256)
    expected.setdefault(manifest.model_file, manifest.model_sha256)
    for name, digest in expected.items():
        if name not in listed or not isinstance(digest, str):
            raise EdgekitError(f"invalid manifest {directory / MANIFEST_NAME}: bad file_sha256 entry {name!r}")
        if sha256_file(directory / name) != digest:
            raise EdgekitError(
                f"artifact {directory}: {name} does not match the sha256 in its manifest "
                "(modified or corrupt); export it again"
            )
    _check_external_data(directory, manifest, listed)


@dataclass(frozen=True)
class Artifact:
    """An artifact directory and its manifest."""

    path: Path
    manifest: Manifest

    @property
    def model_path(self) -> Path:
        return self.path / self.manifest.model_file

    @classmethod
    def load(cls, directory: Path) -> Artifact:
        """Read ``directory/edgekit.json``; a missing or malformed manifest is a one-line error."""
        path = Path(directory) / MANIFEST_NAME
        if not path.is_file():
            raise EdgekitError(f"not an edgekit artifact (no {MANIFEST_NAME}): {directory}")
        data = read_json_file(path, "valid manifest")
        try:
            manifest = Manifest.from_dict(data)
        except EdgekitError as exc:
            raise EdgekitError(f"invalid manifest {path}: {exc}") from None
        _check_files(Path(directory), manifest)
        return cls(Path(directory), manifest)

    @property
    def size_bytes(self) -> int:
        """Bytes of every file in the artifact directory but the manifest (listed or not: nothing hides); for a
        model benched without a manifest, of its own files."""
        if not (self.path / MANIFEST_NAME).is_file():
            return sum((self.path / name).stat().st_size for name in self.manifest.files)
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)


#: CPU features that decide INT8 (and FP16/BF16) speed, as /proc/cpuinfo names them (x86 flags, ARM features)
SPEED_FEATURES = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_int8",
    "amx_bf16",
    "asimd",
    "asimddp",
    "i8mm",
    "sve",
    "fphp",
    "asimdhp",
)


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def host_environment() -> dict[str, Any]:
    """Where a measurement was taken: CPU model, the ISA features that decide INT8 speed, cores, clock, OS,
    Python — enough to tell two machines of one name apart."""
    import os

    info = _cpuinfo()
    cpu = info.get("model name") or info.get("Hardware") or platform.processor() or platform.machine()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    environment: dict[str, Any] = {
        "cpu": cpu,
        "isa": [name for name in SPEED_FEATURES if name in flags],
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    if info.get("cpu MHz"):
        environment["cpu_mhz"] = float(info["cpu MHz"])
    boot = _boot_id()
    if boot:
        environment["boot"] = boot
    return environment


def _boot_id() -> str | None:
    """This boot of this machine, hashed (Linux's random boot id): two runs that share it ran on one machine
    without a restart or a migration in between, so their absolute timings compare (``edgekit gate``)."""
    import hashlib

    try:
        raw = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return hashlib.sha256(raw.encode()).hexdigest()[:16] if raw else None
