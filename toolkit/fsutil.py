"""Safe outputs: build aside, swap in by renames, never lose the old output, never touch what is not ours.

Every writer goes through :func:`atomic_dir` or :func:`atomic_file`:

1. the new output is built in a hidden temporary sibling (``.NAME.edgekit-new-OWNER-XXXX``);
2. an existing output (only with ``force``) is renamed aside (``.NAME.edgekit-old-OWNER-XXXX``);
3. the new one is renamed in, and only then is the old one deleted.

If the process dies between 2 and 3, the next edgekit run in that folder puts the old output back
(:func:`recover_stale`); leftovers of killed runs are deleted then too. Whether the run that made a leftover
still lives is told by a lock, not a process id (ids repeat across containers and PID namespaces, and a
container's edgekit is often PID 1): while an owner has temporaries in a folder it holds ``flock`` on
``.edgekit-OWNER.lock`` there, and the kernel drops that lock when the process dies, however it dies.

``force`` replaces only a directory that edgekit wrote (it holds the given marker file), never the working
directory, an ancestor of it, or a directory holding a protected path (a recipe replacing its own folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import EdgekitError

try:
    import fcntl
except ImportError:  # Windows: no flock; other owners' leftovers are then never taken for dead
    fcntl = None  # type: ignore[assignment]

_TEMP = re.compile(r"^\.(?P<name>.+)\.edgekit-(?P<kind>new|old)-(?P<owner>[0-9a-f]{16})-[0-9a-f]{8}$")
_LOCK = re.compile(r"^\.edgekit-(?P<owner>[0-9a-f]{16})\.lock$")
_OWNER = secrets.token_hex(8)
#: folder -> (lock file descriptor, how many of this process's writers are using it)
_HELD: dict[Path, list[int]] = {}
_HELD_LOCK = threading.Lock()


def _new_owner_after_fork() -> None:
    global _OWNER
    _OWNER = secrets.token_hex(8)
    _HELD.clear()  # the parent's locks stay the parent's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_owner_after_fork)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_sibling(final: Path, kind: str = "new") -> Path:
    """A hidden path beside ``final`` that :func:`recover_stale` recognises (and cleans up once its owner
    is gone)."""
    return final.parent / f".{final.name}.edgekit-{kind}-{_OWNER}-{secrets.token_hex(4)}"


@contextlib.contextmanager
def owning(folder: Path) -> Iterator[None]:
    """Hold this process's lock in ``folder`` while the block makes temporaries there (every
    ``temp_sibling`` must be made and removed inside one, or another run takes it for a dead one's); the last
    user of it unlinks the lock file."""
    key = folder.resolve()
    with _HELD_LOCK:
        if key not in _HELD and fcntl is not None:
            # locked under a name recover_stale ignores, then renamed in: never seen unlocked
            fresh = key / f".edgekit-{_OWNER}.lock.{secrets.token_hex(4)}"
            fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(fresh, key / f".edgekit-{_OWNER}.lock")  # POSIX: replaces, like os.replace
            _HELD[key] = [fd, 0]
        if key in _HELD:
            _HELD[key][1] += 1
    try:
        yield
    finally:
        with _HELD_LOCK:
            held = _HELD.get(key)
            if held is not None:
                held[1] -= 1
                if held[1] == 0:
                    del _HELD[key]
                    with contextlib.suppress(FileNotFoundError):
                        (key / f".edgekit-{_OWNER}.lock").unlink()
                    os.close(held[0])


def _owner_alive(folder: Path, owner: str) -> bool:
    """Whether the process that named its temporaries ``owner`` still holds its lock in ``folder``."""
    if owner == _OWNER:
        return True
    if fcntl is None:
        return True
    try:
        fd = os.open(folder / f".edgekit-{owner}.lock", os.O_RDWR)
    except FileNotFoundError:
        return False  # killed before it could lock, or long gone
    except PermissionError:
        return True  # another user's: not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def recover_stale(folder: Path) -> None:
    """Clean up after edgekit runs in ``folder`` that were killed: restore an old output whose replacement
    never arrived, delete half-built new outputs, old outputs already replaced and the dead runs' locks."""
    if not folder.is_dir():
        return
    entries = list(folder.iterdir())
    dead: dict[str, bool] = {}
    for entry in entries:
        match = _TEMP.match(entry.name)
        if not match:
            continue
        owner = match["owner"]
        if owner not in dead:
            dead[owner] = not _owner_alive(folder, owner)
        if not dead[owner]:
            continue
        final = folder / match["name"]
        if match["kind"] == "old" and not final.exists():
            os.replace(entry, final)  # killed between "old aside" and "new in": the old output comes back
        else:
            _remove(entry)
    for entry in entries:
        match = _LOCK.match(entry.name)
        if match and dead.get(match["owner"], not _owner_alive(folder, match["owner"])):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


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
    with owning(final.parent):
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
    with owning(final.parent):
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
