"""The local SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from edge_agent.config.base import ByteSize, Field, Model


class StoreConfig(Model):
    """Where and how readings are kept before and after they are sent."""

    path: Path = Path("/var/lib/edge-agent/store.db")
    max_bytes: ByteSize = Field(200_000_000, ge=1_000_000, description="size bound of the database")
    retention_days: float = Field(7.0, ge=0, description="how long sent readings stay for replay")
    commit_interval: float = Field(1.0, gt=0, le=10, description="seconds between group commits")
    commit_max_records: int = Field(2000, ge=1)
    synchronous: Literal["full", "normal"] = Field(
        "full", description='"normal" writes less but a power cut loses the last commits (docs/reliability.md)')
    journal: Literal["wal", "rollback"] = Field(
        "wal", description='"rollback" writes each new page once instead of twice (for SD cards, with '
                           'commit_interval 10), but a reader holds up commits while it reads (docs/deployment.md)')
