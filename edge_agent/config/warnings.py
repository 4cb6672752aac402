"""Warnings about a valid config: things that work but that an installer should look at."""

from __future__ import annotations

from collections.abc import Callable

from edge_agent.catalog import DEFAULT_SITE_DIR
from edge_agent.config.load import LoadedConfig, one_line
from edge_agent.contract import contexts
from edge_agent.rules import decree

WarningCheck = Callable[[LoadedConfig], list[str]]


def driver_dirs(loaded: LoadedConfig) -> list[str]:
    """A site driver directory the config names that does not exist (a typo would hide its drivers)."""
    return [f"drivers.paths: {path} does not exist; its drivers are not used (create it, or fix the path)"
            for path in loaded.config.drivers.paths if path != DEFAULT_SITE_DIR and not path.is_dir()]


def web_exposure(loaded: LoadedConfig) -> list[str]:
    """The installer's page open to the network without TLS or without a password yet."""
    web = loaded.config.web
    if not web.lan:
        return []
    lines = []
    if not web.tls:
        lines.append(f"web.bind: '{web.bind}' opens the page to the network without TLS: the password and the"
                     " session cross it in clear; set web.tls_cert and web.tls_key")
    if web.password_hash is None and not web.password_file.exists():
        lines.append(f"web.password_file: {web.password_file} does not exist: the page will not start on"
                     f" '{web.bind}' until a password is set ('sudo edge-agent web passwd')")
    return lines


ROLLBACK_MIN_INTERVAL = 5.0  # below, a rollback journal writes more than WAL at a commune's load (bench.store_floor)


def store_journal(loaded: LoadedConfig) -> list[str]:
    """A rollback journal with commits too close together: it then writes more than the WAL it replaces."""
    store = loaded.config.store
    if store.journal != "rollback" or store.commit_interval >= ROLLBACK_MIN_INTERVAL:
        return []
    return [f"store.journal: 'rollback' with store.commit_interval = {store.commit_interval:g} s writes more to the"
            f" card than the default WAL (it saves writes from one commit every {ROLLBACK_MIN_INTERVAL:g} s); set"
            " commit_interval = 10, or leave journal out (docs/deployment.md)"]


# Each capability adds its checks here (the lighting rules add the 2018 decree's hours).
CHECKS: list[WarningCheck] = [decree.check, web_exposure, driver_dirs, contexts.check, store_journal]


def config_warnings(loaded: LoadedConfig) -> list[str]:
    lines: list[str] = []
    for check in CHECKS:
        try:
            found = check(loaded)
        except Exception as exc:  # a warning that cannot be worked out is one line too, never a traceback
            from edge_agent.logs import get_logger  # here only: `config check` logs nothing else

            get_logger(__name__).debug("config_warning_failed", check=getattr(check, "__qualname__", "?"),
                                       exc_info=True)
            found = [f"(warnings): {getattr(check, '__module__', '?')} could not be checked ({type(exc).__name__})"]
        lines.extend(one_line(f"{loaded.path}: {line}") for line in found)
    return lines
