"""Plain-words output for the CLI: errors on stderr without tracebacks, JSON when asked."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import typer


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one plain error line and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


@contextmanager
def output_file(output: Path | None) -> Iterator[IO[str]]:
    """The file to write a command's output to (``--output``), or the screen; a plain error if it cannot be made."""
    if output is None:
        yield sys.stdout
        return
    try:
        handle = output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    with handle:
        yield handle
