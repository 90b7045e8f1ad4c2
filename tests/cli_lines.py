"""One helper shared by CLI tests: a refusal is exactly one ``error:`` line and exit 2."""

from __future__ import annotations

from edgekit.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def one_error_line(args: list[str]) -> str:
    """Run ``edgekit ARGS``; assert it exits 2 with one ``error:`` line; return that line."""
    result = runner.invoke(app, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]
