"""The store's journal (``store.journal``): WAL by default, a rollback journal for SD cards. Real files, real SQLite.

The promises are the same in both modes (every commit durable, numbers never reused, a corrupt file moved aside
whole); what differs is how a reader and a commit share the file, which the tests below pin down."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.config.store import StoreConfig
from edge_agent.logs import capture_logs
from edge_agent.reading import Reading
from edge_agent.store.command_log import CommandLog
from edge_agent.store.override_book import OverrideBook, SavedOverride
from edge_agent.store.series import StoreUnreadable, open_reader
from edge_agent.store.store import Store
from edge_agent.store.view import StoreView
from tests.config.test_config_check import VALID, check, write

T0 = 1_790_000_000.0
ROLLBACK, WAL = b"\x01\x01", b"\x02\x02"  # the file header's write and read versions (bytes 18 and 19)


def open_store(db: Path, journal: str) -> Store:
    return Store.open(StoreConfig(path=db, journal=journal))


def readings(count: int, first: int = 0) -> list[Reading]:
    return [Reading("meter-1", "voltage", 230.0 + first + i, T0 + first + i, "V") for i in range(count)]


def header(db: Path) -> bytes:
    return db.read_bytes()[18:20]


def stored_values(db: Path) -> list[float]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT value FROM records WHERE kind=0 ORDER BY seq")]
    finally:
        conn.close()


def test_rollback_mode_keeps_every_record_without_a_wal(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(db, "rollback")
    seqs = store.append(readings(30))
    store.ack(seqs[:10])
    assert header(db) == ROLLBACK
    assert not Path(f"{db}-wal").exists(), "a rollback-mode store writes no WAL"
    assert Path(f"{db}-journal").stat().st_size == 0, "between commits the journal is truncated, not left hot"
    store.close()
    again = open_store(db, "rollback")
    assert [p.seq for p in again.pending(events=False, after=0, limit=100)] == seqs[10:]
    assert again.append(readings(1))[0] == seqs[-1] + 1
    again.close()
    assert stored_values(db) == [230.0 + i for i in range(30)] + [230.0]


def test_a_store_changes_journal_at_a_start_with_its_records_and_numbers(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(db, "wal")
    first = store.append(readings(5))
    store.close()
    assert header(db) == WAL
    store = open_store(db, "rollback")
    second = store.append(readings(5, 5))
    store.close()
    assert header(db) == ROLLBACK
    store = open_store(db, "wal")
    third = store.append(readings(5, 10))
    store.close()
    assert header(db) == WAL
    assert first + second + third == list(range(1, 16))
    assert stored_values(db) == [230.0 + i for i in range(15)]


def test_a_reader_holding_the_wal_keeps_the_store_in_wal_until_the_next_start_and_the_log_says_so(
        tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(db, "wal")
    store.append(readings(3))
    store.close()
    reader = open_reader(db)  # a technician's `edge-agent status` at the moment the agent starts
    try:
        with capture_logs() as captured:
            store = open_store(db, "rollback")
        assert store.append(readings(2, 3)) == [4, 5], "the store works on in WAL"
        store.close()
    finally:
        reader.close()
    (warning,) = [line for line in captured if line["event"] == "store_journal_unchanged"]
    assert (warning["log_level"], warning["journal"], warning["wanted"]) == ("warning", "wal", "truncate")
    assert "next start" in warning["action"]
    assert header(db) == WAL
    open_store(db, "rollback").close()
    assert header(db) == ROLLBACK, "with the reader gone, the next start changes it"


def test_a_reader_beside_a_rollback_mode_store_sees_whole_commits_only(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(db, "rollback")
    store.append(readings(100))
    with StoreView.open(db) as view:
        store.append(readings(100, 100))  # the view holds no transaction between questions: the commit goes through
        assert len(stored_values(db)) == 200
        assert view.outbox(max_bytes=10**9).pending_readings == 200 and view.last_seq() == 200
    store.close()


@pytest.mark.parametrize("journal", ["wal", "rollback"])
def test_the_command_log_and_the_override_book_journal_as_the_store_does(tmp_path: Path, journal: str) -> None:
    """They write the store's file through connections of their own: in rollback mode each truncates the journal
    at its commit as the store does (SQLite's default deletes it, a removal a power cut can undo with the commit)."""
    db = tmp_path / "store.db"
    store = open_store(db, journal)
    store.append(readings(3))
    commands, book = CommandLog(db, keep=10), OverrideBook(db)
    try:
        for conn in (commands._conn, book._conn):
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == ("wal" if journal == "wal" else "truncate")
        commands.put("req-1", T0, b'{"ok":true}')
        book.save(SavedOverride("rue-haute", 40, 3600.0, T0 + 3600, T0, "hypervisor"))
        if journal == "rollback":
            assert Path(f"{db}-journal").stat().st_size == 0, "kept, truncated: never deleted at a commit"
        assert commands.recent() == [("req-1", b'{"ok":true}')] and [o.group for o in book.load()] == ["rue-haute"]
    finally:
        commands.close()
        book.close()
        store.close()
    assert header(db) == (WAL if journal == "wal" else ROLLBACK)


_CUT_COMMIT = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=TRUNCATE")
conn.execute("PRAGMA cache_size=1")  # the commit's pages spill into the file before it ends
conn.execute("BEGIN IMMEDIATE")
for i in range(3000):
    conn.execute("INSERT INTO records (kind, priority, ts, point, value) VALUES (0, 3, 0, 'half', ?)", ("x" * 200,))
os._exit(0)  # killed in the middle of its commit: the journal is left hot beside a file holding half of it
"""


def test_a_commit_cut_off_in_rollback_mode_is_not_read_half_done_and_the_agent_rolls_it_back(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(db, "rollback")
    store.append(readings(20))
    store.close()
    subprocess.run([sys.executable, "-c", _CUT_COMMIT, str(db)], check=True, timeout=60)
    assert Path(f"{db}-journal").stat().st_size > 0, "the cut commit should have left its journal"
    with pytest.raises(StoreUnreadable, match="start the agent"):
        open_reader(db)  # a read-only reader cannot roll it back, and must not read the file as it stands
    again = open_store(db, "rollback")  # the agent's start rolls the cut commit back
    assert again.startup_events == [], "a cut commit is not a corrupt store"
    again.close()
    assert stored_values(db) == [230.0 + i for i in range(20)]
    with StoreView.open(db) as view:
        assert view.outbox(max_bytes=10**9).pending_readings == 20


def test_a_corrupt_store_goes_aside_with_its_rollback_journal(tmp_path: Path) -> None:
    """The journal a rollback-mode store keeps between commits (empty; a hot one SQLite plays back or discards
    while checking the file) goes aside with the file it belongs to, never left beside the fresh store."""
    db = tmp_path / "store.db"
    store = open_store(db, "rollback")
    store.append(readings(50))
    store.close()
    assert Path(f"{db}-journal").exists()
    with open(db, "r+b") as handle:
        handle.write(b"\x00garbage" * 512)
    fresh = open_store(db, "rollback")
    assert [event.kind for event in fresh.startup_events] == ["store_corrupt"]
    assert fresh.append(readings(1))[0] > 50
    aside = [p.name for p in tmp_path.glob("store.db.corrupt-*")]
    assert len(aside) == 2 and sorted(aside)[1] == f"{sorted(aside)[0]}-journal", aside
    fresh.close()
    assert stored_values(db) == [230.0]


def test_an_unknown_journal_is_a_config_error_naming_the_choices(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('max_bytes = "200 MB"', 'max_bytes = "200 MB"\njournal = "sd"'))
    result = check(path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}: store.journal: "), result.stderr
    assert "'wal' or 'rollback'" in result.stderr and "(got 'sd')" in result.stderr
    ok = check(write(tmp_path, VALID.replace('max_bytes = "200 MB"', 'journal = "rollback"\ncommit_interval = 10')))
    assert ok.returncode == 0 and "store.journal" not in ok.stdout + ok.stderr, ok.stderr


def test_a_rollback_journal_with_frequent_commits_is_a_warning_saying_what_to_set(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('max_bytes = "200 MB"', 'journal = "rollback"'))
    result = check(path)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in (result.stdout + result.stderr).splitlines() if "store.journal" in line]
    assert line.startswith(f"warning: {path}: store.journal: 'rollback' with store.commit_interval = 1 s writes")
    assert "set commit_interval = 10" in line
