"""Warnings about a valid config: things that work but that an installer should look at."""

from __future__ import annotations

from collections.abc import Callable

from edge_agent.config import web
from edge_agent.config.load import LoadedConfig
from edge_agent.contract import contexts
from edge_agent.rules import decree

WarningCheck = Callable[[LoadedConfig], list[str]]

# Each capability adds its checks here (the lighting rules add the 2018 decree's hours).
CHECKS: list[WarningCheck] = [decree.check, web.check, contexts.check]


def config_warnings(loaded: LoadedConfig) -> list[str]:
    lines: list[str] = []
    for check in CHECKS:
        lines.extend(f"{loaded.path}: {line}" for line in check(loaded))
    return lines
