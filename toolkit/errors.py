"""User-facing errors: the CLI prints ``str(error)`` as one line and exits non-zero, never a traceback."""

#: exit code of an unexpected failure (a bug): never 1, which ``edgekit gate`` uses for "regression"
INTERNAL_EXIT_CODE = 3


class EdgekitError(Exception):
    """Base of every error that the CLI reports as one line (exit code 2)."""

    exit_code = 2


class DataError(EdgekitError):
    """A dataset is missing, malformed or inconsistent; the message names the file."""


class ExportError(EdgekitError):
    """A model could not be loaded, exported or converted."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-blank line of an exception's message (at most ``limit`` characters), or its type's name when
    the message is empty: what an error line quotes of a library's multi-line message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(exc).__name__


def describe(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` (at most ``limit`` characters of it; the type alone when the message is
    empty): an unexpected exception as part of an error line or a failed row's status."""
    return f"{type(exc).__name__}: {first_line(exc, limit)}" if str(exc).strip() else type(exc).__name__


def refuse_unknown(names: object, known: "list[str] | tuple[str, ...]", what: str) -> None:
    """One error naming every name in ``names`` that is not ``known``, and the known ones."""
    unknown = sorted(set(names) - set(known))  # type: ignore[call-overload]
    if unknown:
        raise EdgekitError(f"unknown {what}(s): {', '.join(unknown)} (known: {', '.join(known)})")


class MissingDependencyError(EdgekitError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        self.package, self.extra = package, extra
        super().__init__(f"{package} is not installed: pip install 'edgekit-deploy[{extra}]'")
