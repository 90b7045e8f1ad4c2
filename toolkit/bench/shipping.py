"""What ``bench --on`` sends to a device, and how: the artifacts, and of a dataset only its own files.

A dataset is shipped as the files that make it up and nothing beside them: for a detection set its
annotations as one COCO file (``annotations.json``: a YOLO set's labels, converted) and the images it names;
for an ImageFolder set its images under their class folders. Before, the whole folder around a data file was
sent (a COCO JSON in the home folder shipped ``~/.ssh``). Everything goes as one tar stream written straight
into ssh's standard input, never held in memory whole.
"""

from __future__ import annotations

import contextlib
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from ..errors import EdgekitError

#: where a shipped dataset lies inside the device's work folder
DATA_FOLDER = "data"


def dataset_files(spec: str) -> tuple[dict[str, Path], str]:
    """The files of the val split of dataset ``spec`` by their name in the archive, and the ``--data`` the
    device's bench takes for them (each dataset type lists its own files)."""
    from ..data.resolve import resolve_dataset

    return resolve_dataset(spec, "val").own_files(DATA_FOLDER)


def _no_links(info: tarfile.TarInfo) -> tarfile.TarInfo:
    if info.issym() or info.islnk():
        raise EdgekitError(f"{info.name} is a link: an artifact holds plain files only")
    return info


def write_tar(stream: IO[bytes], paths: dict[str, Path]) -> None:
    """``paths`` (name in the archive -> local file or folder) as one tar stream into ``stream``."""
    with tarfile.open(fileobj=stream, mode="w|") as archive:
        for name, path in paths.items():
            archive.add(str(path), arcname=name, filter=_no_links)


def total_bytes(paths: dict[str, Path]) -> int:
    """The bytes of every file in ``paths`` (folders walked)."""
    total = 0
    for path in paths.values():
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        total += sum(p.stat().st_size for p in files)
    return total


def stream_into(command: list[str], paths: dict[str, Path], timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` (ssh ... tar -x) with the tar stream of ``paths`` on its standard input; its output goes
    to temporary files, so a chatty remote never blocks the stream."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=err)
        assert process.stdin is not None
        try:
            write_tar(process.stdin, paths)
        except BrokenPipeError:
            pass  # the device stopped reading: its exit status and stderr say why
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
