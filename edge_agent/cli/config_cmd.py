"""``edge-agent config``: check a site config, show what it compiles to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.cli.output import echo
from edge_agent.errors import ConfigError


def check_config(path: Path) -> None:
    """Exit 0 if the config is valid; otherwise print one line per problem and exit 1."""
    from edge_agent.config.load import load_config
    from edge_agent.config.warnings import config_warnings

    try:
        loaded = load_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            echo(line, err=True)
        raise SystemExit(1) from None
    for line in config_warnings(loaded):
        echo(f"warning: {line}", err=True)
    config = loaded.config
    echo(
        f"{path}: ok: gateway {config.gateway_id} ({config.site.commune}), {len(config.devices)} devices,"
        f" upstream {config.upstream.host}:{config.upstream.port}"
    )


def register(app: Any) -> None:
    import typer

    group = typer.Typer(help="Check and inspect site configs.", no_args_is_help=True)

    def check(path: Path = typer.Argument(..., help="the site config (TOML)")) -> None:
        check_config(path)

    check.__doc__ = check_config.__doc__  # typer's help: the one text
    group.command("check")(check)
    app.add_typer(group, name="config")
