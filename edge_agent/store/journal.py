"""The journal of a second connection writing the store's file (the command log, the override book)."""

from __future__ import annotations

import sqlite3


def follow_journal(conn: sqlite3.Connection) -> None:
    """Journal as the store does. WAL is the file's own (every connection takes it); a rollback journal is each
    connection's (``store.journal = "rollback"``), and SQLite's default one is deleted at each commit: a removal a
    power cut can undo, and with it that commit. The store's is truncated, a change its commit syncs."""
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        conn.execute("PRAGMA journal_mode=TRUNCATE")
