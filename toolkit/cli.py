"""The ``edgekit`` command line. Commands parse arguments and call the library; nothing heavy is imported here.
``cli_app`` holds the app and its error boundary; each command module registers its commands on it, in the
order ``edgekit --help`` lists them."""

from __future__ import annotations

import signal
from typing import Any

from . import cli_compress, cli_measure, cli_results  # noqa: F401 - importing registers the commands, in this order
from .cli_app import app

__all__ = ["app", "main"]


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: temporaries removed, an output set aside put back


def main() -> None:
    """Console-script entry point; SIGTERM (``docker stop``, a CI timeout) is handled like Ctrl-C."""
    signal.signal(signal.SIGTERM, _terminated)
    app()


if __name__ == "__main__":
    main()
