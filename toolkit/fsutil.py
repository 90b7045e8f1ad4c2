"""Safe outputs: build aside, swap in by renames, never lose the old output, never touch what is not ours.

Every writer goes through :func:`atomic_dir` or :func:`atomic_file`:

1. the new output is built in a hidden temporary sibling (``.NAME.edgekit-new-PID-XXXX``);
2. an existing output (only with ``force``) is renamed aside (``.NAME.edgekit-old-PID-XXXX``);
3. the new one is renamed in, and only then is the old one deleted.

If the process dies between 2 and 3, the next edgekit run in that folder puts the old output back
(:func:`recover_stale`); leftovers of killed runs are deleted then too. ``force`` replaces only a directory
that edgekit wrote (it holds the given marker file), never the working directory, an ancestor of it, or a
directory holding a protected path (a recipe replacing its own folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import EdgekitError

_TEMP = re.compile(r"^\.(?P<name>.+)\.edgekit-(?P<kind>new|old)-(?P<pid>\d+)-[0-9a-f]{8}$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_sibling(final: Path, kind: str = "new") -> Path:
    """A hidden path beside ``final`` that :func:`recover_stale` recognises (and cleans up once its process
    is gone)."""
    return final.parent / f".{final.name}.edgekit-{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have (a forged name)
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def recover_stale(folder: Path) -> None:
    """Clean up after edgekit runs in ``folder`` that were killed: restore an old output whose replacement
    never arrived, delete half-built new outputs and old outputs already replaced."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        match = _TEMP.match(entry.name)
        if not match or _pid_alive(int(match["pid"])):
            continue
        final = folder / match["name"]
        if match["kind"] == "old" and not final.exists():
            os.replace(entry, final)  # killed between "old aside" and "new in": the old output comes back
        else:
            _remove(entry)


def _is_same_or_ancestor(path: Path, of: Path) -> bool:
    path, of = path.resolve(), of.resolve()
    return path == of or path in of.parents


def check_replaceable(final: Path, force: bool, marker: str | None = None, protect: Iterable[Path] = ()) -> None:
    """Raise unless writing ``final`` is allowed: it does not exist, or ``force`` was given and it is a file
    (for file outputs) or an edgekit output directory holding ``marker`` that contains no protected path."""
    if not (final.exists() or final.is_symlink()):
        return
    if not force:
        raise EdgekitError(f"{final} already exists; pass --force to overwrite it")
    if marker is None:
        if final.is_dir():
            raise EdgekitError(f"{final} is a directory; give a file path")
        return
    if not final.is_dir() or final.is_symlink():
        raise EdgekitError(f"{final} exists and is not a directory; refusing to replace it")
    for path in (Path.cwd(), *protect):
        if _is_same_or_ancestor(final, path):
            raise EdgekitError(f"refusing to replace {final}: it holds {path}")
    if not (final / marker).is_file():
        raise EdgekitError(f"refusing to replace {final}: it is not an edgekit output (no {marker} in it)")


def _swap_in(new: Path, final: Path) -> None:
    """Rename ``new`` to ``final``; an existing ``final`` is renamed aside first and deleted last."""
    old = None
    if final.exists() or final.is_symlink():
        old = temp_sibling(final, "old")
        os.replace(final, old)
    try:
        os.replace(new, final)
    except BaseException:
        if old is not None and not final.exists():
            os.replace(old, final)
        raise
    if old is not None:
        _remove(old)


@contextlib.contextmanager
def atomic_dir(final: Path, force: bool = False, *, marker: str, protect: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a fresh hidden directory that replaces ``final`` only if the block succeeds.

    ``marker`` is the file that makes an existing ``final`` an edgekit output that ``force`` may replace.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_stale(final.parent)
    check_replaceable(final, force, marker, protect)
    staging = temp_sibling(final)
    staging.mkdir(mode=0o777 & ~_umask())
    try:
        yield staging
        _swap_in(staging, final)
    finally:
        _remove(staging)


@contextlib.contextmanager
def atomic_file(final: Path, force: bool = True) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``final``; it replaces ``final`` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_stale(final.parent)
    check_replaceable(final, force)
    tmp = temp_sibling(final)
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    finally:
        _remove(tmp)


def write_text_atomic(final: Path, text: str, force: bool = True) -> None:
    """Write ``text`` to ``final`` through :func:`atomic_file`."""
    with atomic_file(final, force) as tmp:
        tmp.write_text(text)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
