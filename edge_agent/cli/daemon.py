"""``edge-agent run`` as systemd starts it: two options read without the CLI framework.

The daemon lives for months on a gateway with 1 GB; typer (and its copy of click) would stay resident for nothing,
and so would argparse (with gettext, locale and shutil, which it loads to word its help and errors): the two options
are read here, spelled as ``run --help`` lists them (through typer, see run_cmd): ``--config PATH`` (``-c``,
``--config=PATH``) and ``--log-format FORMAT``. A command line it cannot read exits with status 2, as argparse's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edge_agent.frozen import frozen

LOG_FORMATS = ("auto", "json", "console")
USAGE = "usage: edge-agent run --config PATH [--log-format {auto,json,console}]"


@frozen
class Options:
    config: Path
    log_format: str = "auto"


class UsageError(Exception):
    """A command line ``parse`` cannot read; its message says what is wrong."""


def wants_daemon(argv: list[str]) -> bool:
    """Whether the command line is ``run ...`` without a request for help."""
    return argv[:1] == ["run"] and not {"--help", "-h"} & set(argv)


def parse(argv: list[str]) -> Options:
    """The options of ``argv`` (after ``run``); UsageError if it holds anything else."""
    values: dict[str, str] = {}
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        key = {"--config": "config", "-c": "config", "--log-format": "log_format"}.get(name)
        if key is None:
            raise UsageError(f"unrecognized argument: {arg}")
        if not equals and not value:
            if not rest:
                raise UsageError(f"argument {name}: expected one argument")
            value = rest.pop(0)
        values[key] = value
    if "config" not in values:
        raise UsageError("the following arguments are required: --config/-c")
    log_format = values.get("log_format", "auto")
    if log_format not in LOG_FORMATS:
        raise UsageError(f"argument --log-format: invalid choice: '{log_format}' (choose from"
                         f" {', '.join(LOG_FORMATS)})")
    return Options(Path(values["config"]), log_format)


def run_daemon(config: Path, log_format: str) -> int:
    """Run the agent on ``config`` until SIGTERM or SIGINT; the process's exit code."""
    from edge_agent.allocator import limit_arenas

    limit_arenas()  # before any thread starts
    from edge_agent import openssl_guard

    openssl_guard.withhold_hashlib_openssl()  # before hashlib is first imported, by the config's modules
    from edge_agent.commands import restart
    from edge_agent.config.load import load_config
    from edge_agent.errors import ConfigError
    from edge_agent.logs import setup_logging

    setup_logging(log_format)
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        print("error: the config is not valid:\n" + "\n".join(exc.problems), file=sys.stderr)
        return 1
    loaded, marker = restart.boot(loaded)  # a pushed config on trial, or one to roll back: the config that runs
    openssl_guard.withhold_unless_used(loaded.config)  # before asyncio is first imported, by the agent's modules
    from edge_agent.agent import run_forever

    return run_forever(loaded, marker)


def main(argv: list[str]) -> int:
    """``argv`` after ``run``."""
    try:
        options = parse(argv)
    except UsageError as exc:
        print(f"{USAGE}\nedge-agent run: error: {exc}", file=sys.stderr)
        return 2
    return run_daemon(options.config, options.log_format)
