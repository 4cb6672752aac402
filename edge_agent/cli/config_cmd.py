"""``edge-agent config``: check a site config, show what it compiles to."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_agent.errors import ConfigError

app = typer.Typer(help="Check and inspect site configs.", no_args_is_help=True)


@app.command("check")
def check(path: Path = typer.Argument(..., help="the site config (TOML)")) -> None:
    """Exit 0 if the config is valid; otherwise print one line per problem and exit 1."""
    from edge_agent.config.load import load_config
    from edge_agent.config.warnings import config_warnings

    try:
        loaded = load_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(line, err=True)
        raise typer.Exit(1) from None
    for line in config_warnings(loaded):
        typer.echo(f"warning: {line}", err=True)
    config = loaded.config
    typer.echo(
        f"{path}: ok: gateway {config.gateway_id} ({config.site.commune}), {len(config.devices)} devices,"
        f" upstream {config.upstream.host}:{config.upstream.port}"
    )
