"""The gateway's status fields: in the retained status message, the answer to a ping and ``edge-agent status``."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class GatewayStatus(TypedDict):
    version: str
    config_sha256: str  # the digest of the site config in force
    uptime_s: float
    clock_synced: bool
    # The outbox's figures, once the store has been read:
    backlog: NotRequired[int]
    dropped: NotRequired[int]
    set_aside: NotRequired[int]
    last_seq: NotRequired[int]
    store_bytes: NotRequired[int]
