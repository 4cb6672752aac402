"""``edge-agent doctor``: every check passes or says what to try; exit 1 if any fails."""

from __future__ import annotations

import textwrap
import time
from dataclasses import asdict
from pathlib import Path

import typer

from edge_agent.cli import doctor_checks as checks
from edge_agent.cli.access import config_option, json_option
from edge_agent.cli.output import print_json
from edge_agent.cli.render import WIDTH
from edge_agent.config.load import load_config
from edge_agent.control.client import running_agent
from edge_agent.errors import ConfigError, EdgeAgentError
from edge_agent.lorawan.doctor import DEFAULT_CHIRPSTACK_TOML

MARK = {"ok": " ok ", "warn": "WARN", "fail": "FAIL"}


def run_checks(config: Path, chirpstack_toml: Path = DEFAULT_CHIRPSTACK_TOML) -> list[checks.Check]:
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        return [checks.failed("config", "not valid: " + "; ".join(exc.problems),
                              f"fix {config} as the message says, then run 'edge-agent config check'")]
    site = loaded.config
    results = [checks.ok("config", f"{config} is valid ({len(site.devices)} devices)"), _agent(site.control.socket)]
    results += checks.serial_ports(site)
    results += [checks.secret_files(site), *checks.upstream(site, time.time())]
    results += checks.chirpstack(site, chirpstack_toml)
    results += [checks.clock(), checks.disk(site), checks.database(site)]
    if (bytecode := checks.bytecode()) is not None:
        results.append(bytecode)
    return results


def _agent(path: Path) -> checks.Check:
    try:
        running = running_agent(path) is not None
    except EdgeAgentError as exc:
        return checks.Check("agent", "warn", str(exc), "run doctor with sudo")
    if running:
        return checks.ok("agent", f"running (answers on {path})")
    return checks.Check("agent", "warn", "not running", "start it: 'sudo systemctl start edge-agent';"
                        " 'journalctl -u edge-agent -n 50' says why it stopped")


def lines(results: list[checks.Check]) -> list[str]:
    """Each check on its own lines, wrapped at 80 columns; a failure or warning is followed by its fix."""
    out = []
    for check in results:
        out += textwrap.wrap(f"{check.name}: {check.detail}", WIDTH, initial_indent=f"[{MARK[check.status]}] ",
                             subsequent_indent=" " * 7, break_on_hyphens=False)
        if check.status != "ok" and check.fix:
            out += textwrap.wrap(check.fix, WIDTH, initial_indent="       fix: ", subsequent_indent=" " * 12,
                                 break_on_hyphens=False)
    return out


def doctor(
    config: Path = config_option(),
    chirpstack_toml: Path = typer.Option(DEFAULT_CHIRPSTACK_TOML, "--chirpstack-config",
                                         help="ChirpStack's config file, when ChirpStack runs on this machine"),
    as_json: bool = json_option(),
) -> None:
    """Check serial ports, brokers, TLS, ChirpStack, clock, disk, database, config and the daemon's bytecode; say
    what to fix."""
    results = run_checks(config, chirpstack_toml)
    failures = sum(1 for check in results if check.status == "fail")
    if as_json:
        print_json({"ok": failures == 0, "checks": [asdict(check) for check in results]})
    else:
        typer.echo("\n".join(lines(results)))
        typer.echo(f"\n{failures} check(s) failed" if failures else "\nall checks passed")
    if failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
