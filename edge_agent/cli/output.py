"""Plain-words output for the CLI: errors on stderr without tracebacks, JSON when asked."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one plain error line and exit (SystemExit: the same under typer and in a quick command, cli/quick.py)."""
    sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def echo(text: str = "", *, err: bool = False) -> None:
    """One line of output (typer's echo without typer: the everyday commands run without it, cli/quick.py)."""
    print(text, file=sys.stderr if err else sys.stdout)


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
