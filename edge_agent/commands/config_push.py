"""The ``config_push`` command: validate the new site config, put it in place on trial, restart on it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog

from edge_agent.commands.errors import CommandFailure, ErrorCode
from edge_agent.commands.trial import ConfigTrial
from edge_agent.config.load import parse_config
from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError

if TYPE_CHECKING:
    from edge_agent.agent import Agent

log = structlog.get_logger(__name__)

_PROBLEMS_SHOWN = 5


async def push_config(agent: Agent, request_id: str, text: str) -> dict[str, Any] | None:
    """None: the trial began and the agent restarts (answered after it); a dict: nothing to change."""
    path = agent.loaded.path
    trial = ConfigTrial(path)
    if trial.marker() is not None:
        raise CommandFailure(ErrorCode.IN_PROGRESS, "another pushed config is being tried")
    raw = text.encode("utf-8")
    try:
        loaded = parse_config(raw, path)
    except ConfigError as exc:
        shown = "; ".join(exc.problems[:_PROBLEMS_SHOWN])
        raise CommandFailure(ErrorCode.CONFIG_INVALID, f"{len(exc.problems)} problem(s): {shown}", "args.config") \
            from None
    _same_identity(loaded.config, agent.config)
    if loaded.sha256 == agent.loaded.sha256:
        return {"config_sha256": loaded.sha256, "applied": False, "reason": "the same config is in force"}
    deadline = agent.config.upstream.commands.trial_seconds  # the config in force sets the trial
    try:
        await asyncio.to_thread(trial.begin, request_id, raw, loaded.sha256, agent.loaded.sha256, deadline)
    except OSError as exc:
        raise CommandFailure(ErrorCode.UNSUPPORTED, f"the site config cannot be replaced on this gateway "
                             f"({exc.strerror}: {exc.filename}); the service needs write access to it") from None
    agent.request_restart(f"config push {request_id}")
    return None


def _same_identity(new: SiteConfig, current: SiteConfig) -> None:
    """Who the gateway is and where it keeps its files are not the hypervisor's to change remotely."""
    fixed = {
        "gateway_id": (new.gateway_id, current.gateway_id),
        "upstream.topic_prefix": (new.upstream.topic_prefix, current.upstream.topic_prefix),
        "store.path": (new.store.path, current.store.path),
        "control.socket": (new.control.socket, current.control.socket),
    }
    for key, (pushed, in_force) in fixed.items():
        if pushed != in_force:
            raise CommandFailure(ErrorCode.BAD_FIELD, f"a pushed config cannot change {key}", "args.config")
