"""Keep native libraries' chatter (TensorFlow, LiteRT, converters) off the user's terminal."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def native_output_to(path: str | os.PathLike = os.devnull) -> Iterator[None]:
    """Redirect file descriptors 1 and 2 (C/C++ writes included) to ``path`` for the block."""
    saved = [os.dup(1), os.dup(2)]
    with open(path, "w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
