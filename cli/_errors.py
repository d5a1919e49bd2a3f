"""One line per error, the exit codes every command shares, and output paths opened before the work.

Exit codes: 0 the command did what it was asked; 1 a runtime failure (a backend that cannot
start or fails, a session that did not end normally); 2 a usage error (a bad option,
argument, input file or output path: nothing ran); 128+N stopped by signal N.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from audiointeract.errors import AudioFormatError, AudioInteractError, ConfigurationError
from audiointeract.options import one_line

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "UsageError",
    "is_stdout",
    "one_line_errors",
    "open_binary_output",
    "open_output",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2


class UsageError(click.ClickException):
    """Something the user gave cannot be used: one ``Error:`` line, exit code 2."""

    exit_code = EXIT_USAGE


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the SDK's errors into one ``Error:`` line: bad input exits 2, any other failure 1."""
    try:
        yield
    except (ConfigurationError, AudioFormatError) as exc:
        raise UsageError(one_line(exc)) from exc
    except AudioInteractError as exc:
        raise click.ClickException(one_line(exc)) from exc
    except UnicodeDecodeError as exc:  # a text input (config, scene, events) that is binary
        raise UsageError(f"an input file is not UTF-8 text (a binary file?): {one_line(exc)}") from exc
    except RecursionError as exc:  # JSON nested thousands deep
        raise UsageError("an input file is nested too deeply to read") from exc


def is_stdout(path: Path | None) -> bool:
    """Whether an output path is ``-``, which means standard output wherever a path is taken."""
    return path is not None and str(path) == "-"


def open_output(path: Path, option: str) -> IO[str]:
    """Open a text output before the work starts (``-``: standard output); a path that cannot be written exits 2."""
    if is_stdout(path):
        return sys.stdout
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {str(path)!r}: {exc.strerror or type(exc).__name__}") from exc


def open_binary_output(path: Path, option: str) -> IO[bytes]:
    """:func:`open_output` for bytes (``-``: standard output's buffer)."""
    if is_stdout(path):
        return sys.stdout.buffer
    try:
        return path.open("wb")
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {str(path)!r}: {exc.strerror or type(exc).__name__}") from exc
