"""``edge-agent run`` as systemd starts it: two options read without the CLI framework.

The daemon lives for months on a gateway with 1 GB; typer (and its copy of click) would stay resident for nothing.
``edge-agent run --help`` still goes through typer, which lists the same options (see run_cmd).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

LOG_FORMATS = ("auto", "json", "console")


def wants_daemon(argv: list[str]) -> bool:
    """Whether the command line is ``run ...`` without a request for help."""
    return argv[:1] == ["run"] and not {"--help", "-h"} & set(argv)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edge-agent run", add_help=False)
    parser.add_argument("--config", "-c", type=Path, required=True)
    parser.add_argument("--log-format", default="auto", choices=LOG_FORMATS)
    return parser.parse_args(argv)


def run_daemon(config: Path, log_format: str) -> int:
    """Run the agent on ``config`` until SIGTERM or SIGINT; the process's exit code."""
    from edge_agent.allocator import limit_arenas

    limit_arenas()  # before any thread starts
    from edge_agent.agent import run_forever
    from edge_agent.config.load import load_config
    from edge_agent.errors import ConfigError
    from edge_agent.logs import setup_logging

    setup_logging(log_format)
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        print("error: the config is not valid:\n" + "\n".join(exc.problems), file=sys.stderr)
        return 1
    return run_forever(loaded)


def main(argv: list[str]) -> int:
    """``argv`` after ``run``."""
    args = parse(argv)
    return run_daemon(args.config, args.log_format)
