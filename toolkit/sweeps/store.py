"""The content-addressed store of finished sweep cells: ``STORE/<kind>/<key>/`` with a ``cell.json`` inside.

A cell's key is a hash of everything that decides its result: the model's and the data's content identity,
the options, the keys of the cells it was made from, and the edgekit version. A cell is done when its
folder exists (written in a temporary sibling and renamed in whole, so an interrupted cell leaves nothing a
later run could take for done); a re-run or an interrupted run skips every done cell.

The store is a plain directory because artifacts are folders the runtimes open by path, and because it is
the resume cache too: Ray's object store would lose them when the cluster stops. With Ray every node must see
the same path (a shared file system, or one machine).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..errors import EdgekitError
from ..fsutil import atomic_dir, sha256_file

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

    def folder(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def done(self, kind: str, key: str) -> dict[str, Any] | None:
        """The finished cell's record, or None."""
        record = self.folder(kind, key) / CELL_FILE
        try:
            loaded = json.loads(record.read_text())
        except (OSError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def write(self, kind: str, key: str, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Run ``make(folder) -> record`` in a temporary folder and rename it in as the finished cell."""
        final = self.folder(kind, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        with atomic_dir(final, force=True, marker=CELL_FILE) as work:
            record = make(work)
            (work / CELL_FILE).write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
        return record
