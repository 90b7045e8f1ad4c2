"""Keep native libraries' chatter (TensorFlow, LiteRT, converters) off the user's terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def native_output_to(path: str | os.PathLike = os.devnull) -> Iterator[None]:
    """Redirect file descriptors 1 and 2 (C/C++ writes included) to ``path`` for the block; Python's own
    ``print`` goes there too (through the process's real stdout/stderr, flushed before the descriptors return),
    so a converter's last words before it gives up are in the file."""
    streams = [stream for stream in (sys.__stdout__, sys.__stderr__) if stream is not None]
    for stream in streams + [sys.stdout, sys.stderr]:
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with (
                contextlib.redirect_stdout(sys.__stdout__ or sys.stdout),
                contextlib.redirect_stderr(sys.__stderr__ or sys.stderr),
            ):
                yield
        finally:
            for stream in streams:
                stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """A converter's Python warnings ignored and its native output dropped, for the block (its failure is still
    raised, and reported by its first line)."""
    with warnings.catch_warnings(), native_output_to():
        warnings.simplefilter("ignore")
        yield
