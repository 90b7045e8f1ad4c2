"""The ``edgekit`` command line's shared parts: the Typer app, its error boundary (failures become one line and
an exit code) and the consoles; the options of bench and compress come from their dataclasses
(``edgekit.optionspec``). The commands live in ``cli_measure``,
``cli_compress`` and ``cli_results``; ``cli`` puts them together."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from .errors import INTERNAL_EXIT_CODE, EdgekitError, describe
from .tasks.registry import task_names

try:  # typer >= 0.2x vendors click; older releases use click itself
    from typer.exceptions import TyperException as UsageProblem
except ImportError:  # pragma: no cover
    from click import ClickException as UsageProblem  # type: ignore[assignment]

TASK_CHOICES = " | ".join(task_names())
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fail(message: str, code: int) -> None:
    """Print one ``error:`` line on stderr and exit with ``code``."""
    line = " ".join(_ANSI.sub("", str(message)).split()) or "failed"
    err_console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class ErrorBoundary(typer.core.TyperGroup):
    """The one place where failures become exit codes: an ``EdgekitError`` or a usage error is one
    ``error:`` line and exit 2; anything unexpected is one ``error: internal:`` line and exit
    ``INTERNAL_EXIT_CODE`` (``--debug`` or ``EDGEKIT_DEBUG=1`` re-raises it with its traceback)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except UsageProblem as exc:  # a bad option value or a missing argument: one line, not a usage box
            fail(exc.format_message(), 2)
        except EdgekitError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail(
                "interrupted (SIGINT/SIGTERM; outputs are replaced only when complete, so nothing was half-written)",
                130,
            )
        except Exception as exc:  # noqa: BLE001 - the boundary: one line instead of a traceback
            if ctx.params.get("debug") or os.environ.get("EDGEKIT_DEBUG"):
                raise
            fail(
                f"internal: {describe(exc, 300)} (a bug in edgekit; rerun with --debug for the traceback)",
                INTERNAL_EXIT_CODE,
            )


app = typer.Typer(
    cls=ErrorBoundary,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compress, export, convert and benchmark PyTorch models for edge devices.",
)


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="show the traceback of an internal error")) -> None:
    """Compress, export, convert and benchmark PyTorch models for edge devices."""
