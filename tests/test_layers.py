"""Which modules may speak to what: SQL only in the store, the MQTT wire format only through the MQTT client.

A plain reading of the package's source: a violation fails with the file and line, so it is fixed where it is.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "edge_agent"

SQL = re.compile(
    r"^\s*(import sqlite3|from sqlite3 import)"  # the SQLite driver
    r"|(?<![\w.])(?:\w+\.)*execute(?:many|script)?\("  # a cursor's or connection's execute
    r"|\bSELECT\b.+\bFROM\b|\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bPRAGMA\s+\w+"
)

# Outside edge_agent/store/, the only SQL allowed, and why.
SQL_ALLOWED = {
    # The reference hypervisor ingest is a separate program on the regional server, with its own PostgreSQL
    # database: its SQL lives in its own database module and its migrations runner, never in the agent.
    "hypervisor/db.py": "the reference hypervisor ingest's PostgreSQL database",
    "hypervisor/migrate.py": "the reference hypervisor ingest's PostgreSQL migrations",
}


PAHO = re.compile(r"^\s*(import paho|from paho)")
WIRE = re.compile(r"^\s*(from edge_agent\.mqtt import|from edge_agent\.mqtt\.|import edge_agent\.mqtt\b)")
MQTT_CLIENT = "mqtt_client.py"


def _lines(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


def _sources() -> list[tuple[str, Path]]:
    return sorted((path.relative_to(PACKAGE).as_posix(), path) for path in PACKAGE.rglob("*.py"))


def sql_outside_store() -> list[str]:
    found = []
    for name, path in _sources():
        if name.startswith("store/") or name in SQL_ALLOWED:
            continue
        found += [f"edge_agent/{name}:{number}: {line.strip()}" for number, line in _lines(path)
                  if SQL.search(line) and not line.lstrip().startswith("#")]
    return found


def test_only_the_store_speaks_sql() -> None:
    found = sql_outside_store()
    assert not found, "SQL outside edge_agent/store/ (ask the store through a typed function):\n" + "\n".join(found)


def test_the_sql_pattern_catches_what_it_must_and_spares_the_rest() -> None:
    caught = ["import sqlite3", "conn.execute('x')", "self._conn.executemany(q, rows)", "db.executescript(s)",
              '"SELECT ts FROM records"', '"INSERT OR REPLACE INTO meta"', '"UPDATE records SET sent=1"',
              '"DELETE FROM gaps"', '"PRAGMA quick_check"']
    spared = ["await self._execute(unit, timeout)", "return await self._execute(request)",
              "# one UPDATE a second at most", "select the device", "Delete from the outbox after PUBACK"]
    assert [line for line in caught if not SQL.search(line)] == []
    assert [line for line in spared if SQL.search(line)] == []


def test_the_allowed_sql_is_still_there() -> None:
    """An allow-list entry whose file no longer holds SQL (or no longer exists) is stale and goes."""
    stale = [name for name in SQL_ALLOWED
             if not (PACKAGE / name).exists() or not any(SQL.search(line) for _, line in _lines(PACKAGE / name))]
    assert stale == []


def test_the_agent_imports_no_paho() -> None:
    """The agent speaks MQTT through its own client (edge_agent/mqtt_client.py); paho stays an independent peer
    for the tests and benches, never a module of the agent."""
    found = [f"edge_agent/{name}:{number}: {line.strip()}" for name, path in _sources()
             for number, line in _lines(path) if PAHO.search(line)]
    assert not found, "paho imported by the agent (use edge_agent.mqtt_client.MqttClient):\n" + "\n".join(found)


def test_only_the_mqtt_client_uses_the_wire_format() -> None:
    found = [f"edge_agent/{name}:{number}: {line.strip()}" for name, path in _sources()
             if name != MQTT_CLIENT and not name.startswith("mqtt/")
             for number, line in _lines(path) if WIRE.search(line)]
    assert not found, f"MQTT packets used outside edge_agent/{MQTT_CLIENT} (use its MqttClient):\n" + "\n".join(found)
    assert any(WIRE.search(line) for _, line in _lines(PACKAGE / MQTT_CLIENT))
