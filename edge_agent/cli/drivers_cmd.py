"""``edge-agent drivers``: the installer's tools for device drivers (bundled, and added on site)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edge_agent.cli.output import fail, print_json

if TYPE_CHECKING:
    from edge_agent.catalog import Catalog

app = typer.Typer(help="List the device drivers the site can use; check a driver file added on site.",
                  no_args_is_help=True)

_CONFIG_HELP = "site config whose [drivers] paths to use (default: /etc/edge-agent/drivers only)"


def site_catalog(config: Path | None) -> Catalog:
    """The catalog of a site config's driver directories (or of the default one)."""
    from edge_agent.catalog import catalog_for
    from edge_agent.config.load import load_config
    from edge_agent.errors import ConfigError

    if config is None:
        return catalog_for()
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail("\n".join(exc.problems))
    return catalog_for(tuple(loaded.config.drivers.paths))


@app.command("list")
def list_drivers(
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Every Modbus profile and LoRaWAN codec: its model, domain, where it comes from and which one is used."""
    from edge_agent.cli.render import table
    from edge_agent.driver_check import inspect, status

    catalog = site_catalog(config)
    reports = sorted((inspect(item) for item in catalog.files),
                     key=lambda r: (r.item.kind, r.item.name, not catalog.in_use(r.item)))
    if as_json:
        print_json({"site_directories": [str(p) for p in catalog.site_dirs], "drivers": [
            {"kind": r.item.kind, "name": r.item.name, "model": r.model, "domain": r.domain, "source": r.item.origin,
             "status": status(catalog, r.item), "ok": r.ok, "problems": r.failures} for r in reports]})
        return
    cells = [[r.item.kind, r.item.name, r.model, r.domain or "-", r.item.origin,
              ("" if r.ok else f"UNUSABLE: {len(r.failures)} problem(s); ") + status(catalog, r.item)]
             for r in reports]
    for line in table(["KIND", "NAME", "MODEL", "DOMAIN", "SOURCE", "STATUS"], cells, width=200):
        typer.echo(line)
    dirs = ", ".join(str(p) for p in catalog.site_dirs) or "none"
    typer.echo(f"site driver directories (searched first, in this order): {dirs}")
    for report in reports:
        for problem in report.failures:
            typer.echo(f"problem: {problem}", err=True)


@app.command("check")
def check(paths: list[Path] = typer.Argument(..., help="driver files (.py, .codec.yaml, .toml) or folders")) -> None:
    """Load each driver file and run its vectors: one line per failure, exit code 1 if any."""
    from edge_agent.driver_check import driver_files, inspect

    failures = 0
    for path in paths:
        if not path.exists():
            typer.echo(f"{path}: (file): does not exist; check the path")
            failures += 1
            continue
        files = driver_files(path)
        if not files:
            typer.echo(f"{path}: (file): no driver here; a profile ends in .toml, a codec in .py or .codec.yaml"
                       " (in a modbus/ or lorawan/ folder)")
            failures += 1
        for item in files:
            report = inspect(item)
            for line in report.failures:
                typer.echo(line)
            failures += len(report.failures)
            if report.ok:
                typer.echo(f"{item.path}: ok: {item.kind} {item.name} ({report.model}, domain"
                           f" {report.domain or '-'}), {report.vectors} vectors pass")
    if failures:
        raise typer.Exit(1)
