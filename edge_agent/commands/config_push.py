"""The ``config_push`` command: validate the new site config, put it in place on trial, restart on it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edge_agent.commands.errors import CommandFailure, ErrorCode
from edge_agent.commands.trial import ConfigTrial
from edge_agent.config.base import BaseModel
from edge_agent.config.load import LoadedConfig, parse_config
from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError
from edge_agent.logs import get_logger
from edge_agent.ports import Restarter

log = get_logger(__name__)

_PROBLEMS_SHOWN = 5


# What links the gateway to the hypervisor: changed by a push only where the site config allows it, and then kept
# only once the hypervisor confirms over the new link (a push must not send the gateway and its secrets elsewhere).
UPSTREAM_LINK = ("host", "port", "endpoints", "tls", "credentials_file")


async def push_config(in_force: LoadedConfig, restart: Restarter, request_id: str, text: str) -> dict[str, Any] | None:
    """None: the trial began and the agent restarts (answered after it); a dict: nothing to change."""
    path = in_force.path
    current = in_force.config
    trial = ConfigTrial(path)
    if trial.marker() is not None:
        raise CommandFailure(ErrorCode.IN_PROGRESS, "another pushed config is being tried")
    try:
        raw = text.encode("utf-8")
        loaded = parse_config(raw, path)
    except (ConfigError, UnicodeEncodeError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else ["the config is not Unicode text"]
        shown = "; ".join(problems[:_PROBLEMS_SHOWN])
        raise CommandFailure(ErrorCode.CONFIG_INVALID, f"{len(problems)} problem(s): {shown}", "args.config") \
            from None
    _same_identity(loaded.config, current)
    confirm = _upstream_change(loaded.config, current)
    _paths_inside(loaded.config, current, path.parent)
    if loaded.sha256 == in_force.sha256:
        return {"config_sha256": loaded.sha256, "applied": False, "reason": "the same config is in force"}
    deadline = current.upstream.commands.trial_seconds  # the config in force sets the trial
    try:
        await asyncio.to_thread(trial.begin, request_id, raw, loaded.sha256, in_force.sha256, deadline,
                                confirm=confirm is not None)
    except OSError as exc:
        raise CommandFailure(ErrorCode.UNSUPPORTED, f"the site config cannot be replaced on this gateway "
                             f"({exc.strerror}: {exc.filename}); the service needs write access to it") from None
    if confirm is not None:
        log.warning("config_push_moves_upstream", request=request_id, changed=confirm)
    restart(f"config push {request_id}")
    return None


def _same_identity(new: SiteConfig, current: SiteConfig) -> None:
    """Who the gateway is, where it keeps its files, whether a push may move its link and where its ChirpStack API
    token goes (and which file it is read from) are set on site."""
    fixed = {
        "chirpstack.grpc_address": (_grpc(new), _grpc(current)),
        "chirpstack.api_token_file": (_token_file(new), _token_file(current)),
        "gateway_id": (new.gateway_id, current.gateway_id),
        "upstream.topic_prefix": (new.upstream.topic_prefix, current.upstream.topic_prefix),
        "store.path": (new.store.path, current.store.path),
        "control.socket": (new.control.socket, current.control.socket),
        "upstream.commands.allow_upstream_change": (new.upstream.commands.allow_upstream_change,
                                                    current.upstream.commands.allow_upstream_change),
    }
    for key, (pushed, in_force) in fixed.items():
        if pushed != in_force:
            raise CommandFailure(ErrorCode.BAD_FIELD, f"a pushed config cannot change {key}", "args.config")


def _grpc(config: SiteConfig) -> str | None:
    return config.chirpstack.grpc_address if config.chirpstack is not None else None


def _token_file(config: SiteConfig) -> Path | None:
    return config.chirpstack.api_token_file if config.chirpstack is not None else None


def _upstream_change(new: SiteConfig, current: SiteConfig) -> str | None:
    """The first upstream link setting the push changes (None: none); refused unless the site allows it."""
    changed = next((f"upstream.{key}" for key in UPSTREAM_LINK
                    if getattr(new.upstream, key) != getattr(current.upstream, key)), None)
    if changed is not None and not current.upstream.commands.allow_upstream_change:
        raise CommandFailure(ErrorCode.BAD_FIELD, f"a pushed config cannot change {changed} (the broker, its TLS"
                             " or the credentials): this site does not allow it"
                             " (upstream.commands.allow_upstream_change)", "args.config")
    return changed


def _paths_inside(new: SiteConfig, current: SiteConfig, directory: Path) -> None:
    """A file named by a push is the site's own (unchanged) or one inside the agent's configuration directory."""
    in_force = config_paths(current)
    home = directory.resolve()
    for key, path in config_paths(new).items():
        if in_force.get(key) == path:
            continue
        try:
            inside = path.resolve().is_relative_to(home)
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte: not a usable file anyway
            inside = False
        if not inside:
            raise CommandFailure(ErrorCode.BAD_FIELD, f"{key} = '{str(path)[:120]}' is outside {home}: a pushed"
                                 " config may name only files of the agent's configuration directory", "args.config")


def config_paths(model: BaseModel, prefix: str = "") -> dict[str, Path]:
    """Every file path of a config, by dotted key (lists of models included)."""
    found: dict[str, Path] = {}
    for name in type(model).model_fields:
        _collect(getattr(model, name), f"{prefix}{name}", found)
    return found


def _collect(value: object, key: str, found: dict[str, Path]) -> None:
    if isinstance(value, Path):
        found[key] = value
    elif isinstance(value, BaseModel):
        found.update(config_paths(value, f"{key}."))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _collect(item, f"{key}.{index}", found)
