"""``edge-agent web``: the installer's page, a process of its own; ``edge-agent web passwd`` sets its password.

Only the standard library and typer are imported here: the page's libraries (the ``web`` extra) load when the
page starts, so the daemon's command line never carries them.
"""

from __future__ import annotations

import contextlib
import grp
import os
import sys
from pathlib import Path

import typer

from edge_agent.cli.access import config_option, load_site
from edge_agent.cli.output import fail
from edge_agent.errors import EdgeAgentError

app = typer.Typer(help="The installer's page: devices, signal, lighting and events in a browser.",
                  invoke_without_command=True)

MISSING = ("the page needs the web extra: install it with pip install 'edge-agent[web]'"
           " (the installer's script does)")


@app.callback()
def serve(
    ctx: typer.Context,
    *,
    config: Path = config_option(),
    bind: str | None = typer.Option(None, "--bind", help="listen on this address (default: web.bind, 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="and this port (default: web.port)"),
    idle_exit: float | None = typer.Option(None, "--idle-exit", min=0,
                                           help="stop after this many seconds without a request (0: never)"),
    log_format: str = typer.Option("auto", "--log-format", help="auto, json or console"),
) -> None:
    """Serve the page (on the socket systemd passes, or on --bind/--port) until stopped or idle."""
    if ctx.invoked_subcommand is not None:
        return
    from edge_agent.logs import setup_logging

    setup_logging(log_format)
    loaded = load_site(config)
    try:
        from edge_agent.web.server import serve as run
    except ImportError as exc:
        fail(f"{MISSING} ({exc})")
    try:
        code = run(loaded, bind=bind, port=port, idle_exit_s=idle_exit)
    except EdgeAgentError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command("passwd")
def passwd(
    config: Path = config_option(),
    print_only: bool = typer.Option(False, "--print", help="print the hash (for web.password_hash) instead"),
    stdin: bool = typer.Option(False, "--stdin", help="read the password from the first line of standard input"),
) -> None:
    """Set the page's password: its argon2id hash goes to web.password_file (the password is never stored)."""
    loaded = load_site(config)
    try:
        from edge_agent.web import passwords
    except ImportError as exc:
        fail(f"{MISSING} ({exc})")
    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password for the page", hide_input=True, confirmation_prompt=True)
    try:
        hashed = passwords.make_hash(password)
    except EdgeAgentError as exc:
        fail(str(exc))
    web = loaded.config.web
    if print_only:
        typer.echo(hashed)
        return
    if web.password_hash is not None:
        fail(f"{config} sets web.password_hash, which wins over any file: replace it with\n"
             f'password_hash = "{hashed}"')
    try:
        passwords.write_hash(web.password_file, hashed)
        _give_to_group(web.password_file, loaded.config.control.group or "edge-agent")
    except OSError as exc:
        fail(f"cannot write {web.password_file}: {exc.strerror} (run it with sudo)")
    typer.echo(f"password set: its hash is in {web.password_file}; the page uses it from the next login")


def _give_to_group(path: Path, group: str) -> None:
    """The page runs as the agent's group: let it read the hash (when this runs as root and the group exists)."""
    if os.geteuid() != 0:
        return
    with contextlib.suppress(KeyError):  # no such group here: root keeps the file
        os.chown(path, 0, grp.getgrnam(group).gr_gid)
