"""The technician's everyday commands, run without typer when their command line is a plain one.

``edge-agent status`` on a gateway should answer at once; typer (with its copy of click) is a fifth of the time of
such a command. The commands below are plain functions that their typer commands call (``register`` in each
module); for a command line made only of the options listed here, ``edge-agent`` calls the function itself. Any
other command line (``--help``, an option not listed, a missing value, ``-cPATH``, ``--``, a root option such as
``--debug``) goes to typer as before, which answers it exactly as it always has: help, usage errors and all.

The table must say what the typer command declares: tests/cli/test_quick.py compares every entry with its typer
command's parameters, and each command's output both ways.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from edge_agent.frozen import frozen

_CONFIG = {"--config": "config", "-c": "config"}
_JSON = {"--json": "as_json"}


@frozen
class Quick:
    """A command run without typer: the plain function its typer command calls, and that command's options."""

    module: str  # under edge_agent.cli
    function: str
    options: Mapping[str, str] = field(default_factory=dict)  # spelling -> parameter, followed by a value
    flags: Mapping[str, str] = field(default_factory=dict)  # spelling -> parameter, True when given
    arguments: tuple[str, ...] = ()  # positional parameters, each required
    # parameter -> its value from the text (as typer converts it); a ValueError sends the line to typer, which
    # words the error. Text otherwise.
    values: Mapping[str, Callable[[str], Any]] = field(default_factory=lambda: {"config": Path, "path": Path})


def _fport(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 255:
        raise ValueError(f"{port} is not an fPort")
    return port


QUICK: dict[tuple[str, ...], Quick] = {
    ("status",): Quick("status_cmd", "show_status", _CONFIG, _JSON),
    ("queue",): Quick("queue_cmd", "show_queue", _CONFIG, _JSON),
    ("devices",): Quick("inventory_cmd", "show_devices", _CONFIG, _JSON),
    ("points",): Quick("inventory_cmd", "show_points", {**_CONFIG, "--device": "device", "-d": "device"}, _JSON),
    ("config", "check"): Quick("config_cmd", "check_config", arguments=("path",)),
    ("decode",): Quick("decode_cmd", "decode_uplink",
                       {"--driver": "driver", "--fport": "fport", "--hex": "hex_payload", "--config": "config",
                        "--device": "device", "--event": "event", "--d-empty": "d_empty", "--d-full": "d_full",
                        "--offset": "offset"}, {"--list": "list_codecs"},
                       values={"fport": _fport, "config": Path, "event": Path, "d_empty": float, "d_full": float,
                               "offset": float}),
}


def parse(argv: list[str]) -> tuple[Quick, dict[str, Any]] | None:
    """The quick command and its keyword arguments for this command line; None when typer is to read it."""
    for words, quick in QUICK.items():
        if tuple(argv[:len(words)]) == words:
            values = _values(quick, argv[len(words):])
            return None if values is None else (quick, values)
    return None


def _values(quick: Quick, args: list[str]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in quick.options:
            if not equals:
                if not rest:
                    return None
                value = rest.pop(0)
            values[quick.options[name]] = value
        elif name in quick.flags and not equals:
            values[quick.flags[name]] = True
        elif arg.startswith("-") or len(positional) == len(quick.arguments):
            return None
        else:
            positional.append(arg)
    if len(positional) != len(quick.arguments):
        return None
    values.update(zip(quick.arguments, positional, strict=True))
    try:
        return {key: quick.values[key](value) if key in quick.values and isinstance(value, str) else value
                for key, value in values.items()}
    except ValueError:
        return None


def runner(argv: list[str]) -> Callable[[], None] | None:
    """The call that runs this command line without typer, or None."""
    found = parse(argv)
    if found is None:
        return None
    quick, values = found
    function = getattr(importlib.import_module(f"edge_agent.cli.{quick.module}"), quick.function)
    return lambda: function(**values)
