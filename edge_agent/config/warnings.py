"""Warnings about a valid config: things that work but that an installer should look at."""

from __future__ import annotations

from collections.abc import Callable

from edge_agent.catalog import DEFAULT_SITE_DIR
from edge_agent.config import web
from edge_agent.config.load import LoadedConfig
from edge_agent.rules import decree

WarningCheck = Callable[[LoadedConfig], list[str]]


def driver_dirs(loaded: LoadedConfig) -> list[str]:
    """A site driver directory the config names that does not exist (a typo would hide its drivers)."""
    return [f"drivers.paths: {path} does not exist; its drivers are not used (create it, or fix the path)"
            for path in loaded.config.drivers.paths if path != DEFAULT_SITE_DIR and not path.is_dir()]


# Each capability adds its checks here (the lighting rules add the 2018 decree's hours).
CHECKS: list[WarningCheck] = [decree.check, web.check, driver_dirs]


def config_warnings(loaded: LoadedConfig) -> list[str]:
    lines: list[str] = []
    for check in CHECKS:
        lines.extend(f"{loaded.path}: {line}" for line in check(loaded))
    return lines
