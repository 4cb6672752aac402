"""Corrupt or missing database, and poisoned rows in the outbox.

Between two runs of the real agent the test truncates, scribbles over or deletes the SQLite file, or plants rows
the agent cannot decode. The promise: the agent starts, moves a bad file aside, raises an alarm, continues the
sequence without reusing a number, and works; a poisoned row is set aside and counted and never stops delivery
of the rows behind it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults import figures
from tests.faults.rig import UNSENT, TimedCapture, store_seqs
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.site import write_site


def _damage(db: Path, how: str) -> None:
    if how == "truncated":
        with open(db, "r+b") as handle:
            handle.truncate(db.stat().st_size // 3)
    elif how == "scribbled":
        with open(db, "r+b") as handle:
            handle.seek(0)
            handle.write(b"\xde\xad\xbe\xef" * 1024)
    else:
        db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["truncated", "scribbled", "missing"])
def test_a_damaged_or_missing_store_is_moved_aside_alarmed_and_the_agent_works_on(
        tmp_path: Path, broker: Broker, how: str) -> None:
    """Promise: after the store file is damaged between runs the agent starts, moves the bad file aside, raises a
    store_corrupt alarm (not for a missing file), and delivers new readings with sequence numbers never used before."""
    capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    config = write_site(tmp_path, broker_port=broker.port)
    db = tmp_path / "store.db"
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: len(store_seqs(db)) > 100, what="first run committing")
        agent.terminate()
        first_top = max(store_seqs(db))
        _damage(db, how)
        agent = AgentProcess(config).start()
        wait_until(lambda: any(int(r["seq"]) > first_top + 100 for _, r in capture.records()), timeout=30,
                   what="the second run delivering")
        assert agent.returncode is None, "PROMISE BROKEN: the agent did not survive a damaged store"
        agent.terminate()
        moved = sorted(tmp_path.glob("store.db.corrupt-*"))
        alarms = [r for _, r in capture.records() if r.get("event") == "store_corrupt"]
        second = {int(r["seq"]) for _, r in capture.records()} - set(range(1, first_top + 1))
        figures.record(f"store {how} between runs", promise="starts, moves aside, alarms, continues the sequence",
                       faults=1, checked=len(second), lost=0, duplicated=0, moved_aside=len(moved),
                       alarms=len(alarms))
        assert min(second) > first_top, "PROMISE BROKEN: a sequence number was used twice"
        if how == "missing":
            assert not moved
        else:
            assert moved, "PROMISE BROKEN: the damaged file was not kept aside for diagnosis"
            assert alarms and alarms[0]["priority"] == "alarm", "PROMISE BROKEN: no store_corrupt alarm upstream"
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()


def test_poisoned_rows_are_set_aside_counted_and_never_stop_the_rows_behind_them(
        tmp_path: Path, broker: Broker) -> None:
    """Promise: rows the agent cannot decode (a reading with an unknown quality code, an event whose body is not
    JSON) are set aside and counted, and every other row, before and behind them, is delivered."""
    (tmp_path / "nowhere").mkdir()
    down = Broker(tmp_path / "nowhere")  # never started: a port nothing listens on
    config = write_site(tmp_path, broker_port=down.port)  # first run offline: everything stays in the outbox
    db = tmp_path / "store.db"
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: len(store_seqs(db, "kind=0")) > 300, what="readings in the outbox")
        agent.terminate()
        readings = sorted(store_seqs(db, "kind=0"))
        bad_reading = readings[len(readings) // 3]
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE records SET quality=99 WHERE seq=?", (bad_reading,))
            cursor = conn.execute("INSERT INTO records(kind, priority, ts, point, body) VALUES (1, 2, ?, "
                                  "'planted', '{not json')", (time.time(),))
            bad_event = int(cursor.lastrowid or 0)
        conn.close()
        config.write_text(config.read_text().replace(f"port = {down.port}", f"port = {broker.port}"))
        capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
        agent = AgentProcess(config).start()
        try:
            wait_until(lambda: store_seqs(db, UNSENT) <= {int(r["seq"]) for _, r in capture.records()}
                       and max(store_seqs(db)) > bad_event + 100, timeout=30, what="delivery behind the poison")
            agent.terminate()
            delivered = {int(r["seq"]) for _, r in capture.records()}
            set_aside = store_rows(db, "SELECT seq FROM poisoned ORDER BY seq")
            counted = store_rows(db, "SELECT value FROM meta WHERE key='set_aside'")
            expected = store_seqs(db) - {bad_reading, bad_event}
            figures.record("poisoned rows in the outbox", promise="set aside, counted, rows behind delivered",
                           faults=2, checked=len(expected), lost=len(expected - delivered), duplicated=0,
                           set_aside=len(set_aside))
            assert [int(row[0]) for row in set_aside] == [bad_reading, bad_event]  # type: ignore[call-overload]
            assert counted and int(counted[0][0]) == 2  # type: ignore[call-overload]
            assert expected <= delivered, f"PROMISE BROKEN: {len(expected - delivered)} rows stuck behind the poison"
        finally:
            capture.close()
    finally:
        if agent.proc is not None:
            agent.kill()


def test_a_record_too_large_for_the_broker_is_set_aside_and_never_stops_the_rows_behind_it(tmp_path: Path) -> None:
    """Promise: with Mosquitto's message_size_limit at 20 kB (and the agent's batch_max_bytes set under it, as the
    deployment guide asks), one 40 kB event is set aside and counted, and every other row is delivered."""
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", extra="message_size_limit 20000").start()
    config = write_site(tmp_path, broker_port=broker.port, sync="batch_max_bytes = 16000")
    db = tmp_path / "store.db"
    agent = AgentProcess(config).start()
    capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    try:
        wait_until(lambda: len(store_seqs(db)) > 100, what="first run committing")
        agent.terminate()
        conn = sqlite3.connect(db)
        with conn:
            huge = '{"message": "huge", "data": {"blob": "' + "x" * 40_000 + '"}}'
            big = int(conn.execute("INSERT INTO records(kind, priority, ts, point, body) VALUES (1, 3, ?, 'huge', ?)",
                                   (time.time(), huge)).lastrowid or 0)
        conn.close()
        agent = AgentProcess(config).start()
        wait_until(lambda: max(store_seqs(db)) > big + 200 and store_seqs(db) - {big}
                   <= {int(r["seq"]) for _, r in capture.records()}, timeout=30, what="delivery behind the huge row")
        agent.terminate()
        delivered = {int(r["seq"]) for _, r in capture.records()}
        expected = store_seqs(db) - {big}
        set_aside = [int(row[0]) for row in store_rows(db, "SELECT seq FROM poisoned")]  # type: ignore[call-overload]
        figures.record("record too large for the broker", promise="set aside, counted, rows behind delivered",
                       faults=1, checked=len(expected), lost=len(expected - delivered), duplicated=0,
                       set_aside=len(set_aside))
        assert set_aside == [big], "PROMISE BROKEN: the oversized record was not set aside"
        assert expected <= delivered, "PROMISE BROKEN: rows behind the oversized record were not delivered"
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()
        broker.stop()
