"""The content-addressed store of finished sweep cells: ``STORE/<kind>/<key>/`` with a ``cell.json`` inside.

A cell's key is a hash of everything that decides its result: the model's and the data's content identity,
the options, the keys of the cells it was made from, and the edgekit version. A cell is done when its
folder exists (written in a temporary sibling and renamed in whole, so an interrupted cell leaves nothing a
later run could take for done); a re-run or an interrupted run skips every done cell.

The store is a plain directory because artifacts are folders the runtimes open by path, and because it is
the resume cache too: Ray's object store would lose them when the cluster stops. With Ray every node must see
the same path (a shared file system, or one machine).

The store is a trust boundary: a compressed model in it is TorchScript, and loading TorchScript runs code
stored in the file. So a store must be owned by the user who sweeps and writable by nobody else
(``check_private``; ``--trust`` overrides), and a compressed model is loaded only when its sha256 equals the
one its compress cell recorded (``verified_model``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import EdgekitError
from ..fsutil import atomic_dir, sha256_file
from ..version import __version__

CELL_FILE = "cell.json"


def default_store() -> Path:
    """``$EDGEKIT_CACHE/sweep-store`` (``~/.cache/edgekit`` when unset)."""
    from edgekit.calibration_data.build import cache_root

    return Path(cache_root()) / "sweep-store"


def cell_key(kind: str, inputs: dict[str, Any]) -> str:
    """A stable key of a cell's inputs (JSON, sorted) with the edgekit version; 24 hex digits."""
    text = json.dumps({"kind": kind, "edgekit": __version__, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _tree_identity(folder: Path) -> str:
    """Every file below ``folder``: relative path, size and modification time (cheap; changes when files do)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def content_identity(spec: str | None, builtin_files: dict[str, Path]) -> str | None:
    """What a model or dataset argument is: a built-in name (with its weights' sha256 where it has a file), a
    file's sha256, or a folder's listing hash."""
    if spec is None:
        return None
    if spec in builtin_files:
        weights = builtin_files[spec]
        return f"builtin:{spec}:{sha256_file(weights) if weights.is_file() else __version__}"
    path = Path(spec)
    if path.is_file():
        return f"file:{sha256_file(path)}"
    if path.is_dir():
        return f"dir:{_tree_identity(path)}"
    return f"name:{spec}"


def _refuse_shared(path: Path) -> None:
    """One error line unless ``path`` is owned by this user and not writable by its group or others."""
    try:
        status = path.stat()
    except OSError:
        return
    if status.st_uid != os.getuid():
        raise EdgekitError(
            f"sweep store: {path} belongs to another user: its compressed models would run their code as you "
            "(pass --trust only if you trust everyone who can write it)"
        )
    if status.st_mode & 0o022:
        raise EdgekitError(
            f"sweep store: {path} is writable by its group or by others: anyone who can write it could plant code "
            "that runs when a compressed model is loaded (chmod go-w, or pass --trust if you trust them all)"
        )


def _positive_ints(record: dict[str, Any], keys: tuple[str, ...]) -> str:
    bad = [k for k in keys if isinstance(record.get(k), bool) or not isinstance(record.get(k), int) or record[k] <= 0]
    return f"{', '.join(bad)} not a positive integer" if bad else ""


def record_problem(kind: str, record: dict[str, Any]) -> str:
    """What is wrong with a finished cell's record of ``kind`` ("" when it can be reused)."""
    if kind == "compress":
        problem = _positive_ints(record, ("macs_before", "macs_after", "params_before", "params_after"))
        return problem or ("" if isinstance(record.get("model_sha256"), str) else "no model_sha256")
    if kind == "export":
        return "" if isinstance(record.get("target"), str) else "no target"
    if kind == "score":
        if not isinstance(record.get("row"), dict):
            return "no row"
        try:
            row_without_latency(record["row"])
        except EdgekitError as exc:
            return str(exc)[:160]
        return ""
    if kind == "time":
        ok = isinstance(record.get("latencies"), list) and isinstance(record.get("environment"), dict)
        return "" if ok else "no latencies or environment"
    return ""


class Store:
    """A store directory: is a cell done, its folder, and writing a cell in whole."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def check_writable(self) -> None:
        """One error line if the store cannot be created or written (before any cell runs)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-check-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise EdgekitError(f"sweep store {self.root} is not writable: {exc.strerror or exc}") from None

    def check_private(self) -> None:
        """Refuse a store (its root and its ``compress`` folder) that another user owns or others can write."""
        for path in (self.root, self.root / "compress"):
            _refuse_shared(path)

    def verified_model(self, key: str, trust_store: bool) -> Path:
        """The compressed model of compress cell ``key``, after checking that it is the file that cell wrote
        (its recorded sha256) and, unless ``trust_store``, that nobody else can have replaced it."""
        folder = self.folder("compress", key)
        model = folder / "model.pt"
        if not trust_store:
            for path in (model, folder, folder.parent, self.root):
                _refuse_shared(path)
        record = self._load("compress", key)
        expected = record.get("model_sha256") if isinstance(record, dict) else None
        if not isinstance(expected, str):
            raise EdgekitError(f"sweep store: {folder} records no sha256 of its model (an older edgekit wrote it)")
        if not model.is_file() or sha256_file(model) != expected:
            raise EdgekitError(f"sweep store: {model} is not the file its compress cell wrote (sha256 differs)")
        return model

    @contextlib.contextmanager
    def cell_lock(self, kind: str, key: str) -> Iterator[None]:
        """Hold the cell's lock (``flock`` on ``STORE/<kind>/.<key>.lock``): two sweeps on one store run a
        cell once, the second reusing what the first wrote. Where the file system has no coherent ``flock``
        (some network file systems) both may run it; the result is still whole, the work done twice."""
        try:
            import fcntl
        except ImportError:  # Windows: no flock; two sweeps on one store may both run a cell there
            fcntl = None  # type: ignore[assignment]
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        fd = os.open(folder / f".{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def folder(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def _load(self, kind: str, key: str) -> Any:
        try:
            return json.loads((self.folder(kind, key) / CELL_FILE).read_text())
        except (OSError, ValueError):
            return None

    def done(self, kind: str, key: str) -> dict[str, Any] | None:
        """The finished cell's record, or None (also when the record is damaged: the cell runs again)."""
        loaded = self._load(kind, key)
        return loaded if isinstance(loaded, dict) and not record_problem(kind, loaded) else None

    def damage(self, kind: str, key: str) -> str:
        """Why the cell's record on disk cannot be reused ("" when it is fine or absent)."""
        folder = self.folder(kind, key)
        if not folder.exists():
            return ""
        loaded = self._load(kind, key)
        problem = "not a JSON object" if not isinstance(loaded, dict) else record_problem(kind, loaded)
        return f"{folder / CELL_FILE}: {problem}" if problem else ""

    def write(self, kind: str, key: str, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Run ``make(folder) -> record`` in a temporary folder and rename it in as the finished cell."""
        final = self.folder(kind, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        with atomic_dir(final, force=True, marker=CELL_FILE) as work:
            record = make(work)
            (work / CELL_FILE).write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
        return record


def row_without_latency(raw: dict[str, Any]) -> Any:
    """A score cell's row back as a ``BenchRow`` (checked like a results row, latency still to come)."""
    from ..results import BenchRow

    placeholder = {"p50": 1.0, "p90": 1.0, "p99": 1.0}
    row = BenchRow.from_dict(raw | {"latency_ms": placeholder}, "score cell")
    return dataclasses.replace(row, latency=None)
