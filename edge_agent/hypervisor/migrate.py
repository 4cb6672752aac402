"""Numbered SQL migrations (``migrations/NNN_name.sql``), applied once each, recorded in ``schema_migrations``."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import psycopg

from edge_agent.frozen import frozen
from edge_agent.logs import get_logger

log = get_logger(__name__)

_LOCK_KEY = 0x45444745  # one advisory lock: two workers starting together migrate one after the other
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@frozen
class Migration:
    version: int
    name: str
    sql: str


def bundled() -> list[Migration]:
    """The migrations shipped in the package, in version order."""
    folder = resources.files("edge_agent.hypervisor") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def apply_migrations(conn: psycopg.Connection[Any], migrations: list[Migration] | None = None) -> list[str]:
    """Apply those not applied yet, each in its own transaction; return the names applied now."""
    todo = bundled() if migrations is None else migrations
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in todo:
            if migration.version in done:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (migration.version, migration.name))
            applied.append(migration.name)
            log.info("schema_migrated", migration=migration.name)
    return applied
