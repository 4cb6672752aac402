"""Opening the SQLite file: pragmas for an SD card, integrity check, corrupt files moved aside."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path

from edge_agent import durable
from edge_agent.frozen import frozen
from edge_agent.logs import get_logger
from edge_agent.store.acks import COVERED_SQL
from edge_agent.store.outbox import SEQ_FLOOR_KEY, last_seq

log = get_logger(__name__)

SCHEMA_VERSION = 3

# ``seq`` is a plain rowid (schema 3): the store numbers the rows itself, so that a commit does not rewrite the
# ``sqlite_sequence`` page that AUTOINCREMENT keeps (one 4 KB page of every group commit); the number of the newest
# row deleted is noted in ``meta`` (SEQ_FLOOR_KEY) instead, so that no number is ever handed out twice.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    ts REAL NOT NULL,
    device TEXT,
    point TEXT NOT NULL,
    value,
    vtype TEXT,
    unit TEXT,
    quality INTEGER NOT NULL DEFAULT 0,
    synced INTEGER NOT NULL DEFAULT 1,
    body TEXT,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_outbox_events ON records(kind, seq) WHERE sent = 0 AND kind = 1;
CREATE INDEX IF NOT EXISTS records_events ON records(point, ts) WHERE kind = 1;
CREATE TABLE IF NOT EXISTS acked (first INTEGER PRIMARY KEY, last INTEGER NOT NULL);
CREATE VIEW IF NOT EXISTS outbox AS SELECT * FROM records WHERE sent = 0 AND NOT {COVERED_SQL};
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS poisoned (
    seq INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    row TEXT NOT NULL
);
"""

# Sequence numbers are reserved in blocks in a small side file, so that a fresh database
# (after a corrupt one was moved aside) never reuses a number the hypervisor has seen.
SEQ_BLOCK = 100_000
WAL_CHECKPOINT_BYTES = 8_192_000  # the WAL is folded into the file once it holds this much (2,000 pages of 4 KB)
# Of a new store's file (an existing one keeps its own: changing it needs a VACUUM, a copy of the whole store). Every
# commit rewrites whole pages (the table's last leaf, and with each new leaf its parent and the header page), so at a
# commune's rate of small commits 1 KB pages write a quarter less than 4 KB ones; reports read them 0-25 % slower
# (docs/performance.md, "SD-card writes").
PAGE_SIZE = 1024


def autocheckpoint_pages(page_size: int) -> int:
    """``wal_autocheckpoint`` for a file of this page size: WAL_CHECKPOINT_BYTES whatever the page size."""
    return max(WAL_CHECKPOINT_BYTES // page_size, 64)


REPORTED_KEY = "corrupt_reported"  # meta: the moved-aside files whose alarm is committed (a JSON list)


@frozen
class OpenResult:
    """A ready connection, and what had to be done to get it.

    ``unreported`` lists every moved-aside file whose alarm is not committed yet: the one moved now (its reason
    in ``problem``), and any that an earlier start moved aside and was cut off (power, kill) before its alarm was
    committed. The store commits one alarm for each."""

    conn: sqlite3.Connection
    recovered_from: Path | None
    problem: str | None
    unreported: list[Path] = field(default_factory=list)


def open_database(path: Path, *, synchronous: str = "full", journal: str = "wal") -> OpenResult:
    """Open (or create) the store, moving a corrupt file aside and starting a fresh one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    problem = _check_existing(path) if existed else None
    moved: Path | None = None
    if problem is not None:
        moved = _move_aside(path)
        log.error("store_corrupt", path=str(path), reason=problem, moved_to=str(moved))
    conn = _connect(path, synchronous, journal)
    _migrate(conn)
    _seed_sequence(conn, path)
    if not existed or moved is not None:
        durable.sync_directory(path.parent)  # a new database file: its name must outlive a power cut
    return OpenResult(conn=conn, recovered_from=moved, problem=problem, unreported=_unreported(conn, path))


def moved_aside(path: Path) -> list[Path]:
    """The database files moved aside so far (the main files; their -wal, -shm or -journal went with them)."""
    return sorted(p for p in path.parent.glob(f"{path.name}.corrupt-*")
                  if not p.name.endswith(("-wal", "-shm", "-journal")))


def reported(conn: sqlite3.Connection) -> list[str] | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (REPORTED_KEY,)).fetchone()
    if row is None:
        return None
    try:
        names = json.loads(row[0])
    except (TypeError, ValueError):
        return []
    return [str(name) for name in names] if isinstance(names, list) else []


def _unreported(conn: sqlite3.Connection, path: Path) -> list[Path]:
    """Moved-aside files with no committed alarm. A store that holds records and has never noted any (it predates
    this note) notes the files already there as reported, silently: they were reported when they were moved."""
    files = moved_aside(path)
    known = reported(conn)
    if known is None and conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is not None:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                     (REPORTED_KEY, json.dumps([p.name for p in files])))
        return []
    return [p for p in files if p.name not in set(known or [])]


def _check_existing(path: Path) -> str | None:
    try:
        conn = sqlite3.connect(path, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows != [("ok",)]:
        return "; ".join(str(row[0]) for row in rows[:5])
    return None


def _move_aside(path: Path) -> Path:
    """Rename the file and its -wal, -shm and -journal aside, durably. The -wal and -journal go first: a power cut
    between two renames must never leave the old WAL or rollback journal beside a new database, which would replay
    it."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    tries = 1
    while target.exists():  # two in one second (a start cut short, then the next): keep both
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{tries}")
        tries += 1
    for suffix in ("-wal", "-journal", "-shm", ""):
        source = Path(f"{path}{suffix}")
        if source.exists():
            durable.replace(source, Path(f"{target}{suffix}"))
    return target


def _connect(path: Path, synchronous: str, journal: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: it only takes on a file not yet written
    _journal_mode(conn, path, journal)
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA journal_size_limit=8388608")
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint_pages(page_size)}")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-256")  # 256 KB: the pages a commit touches; 1 MB held 0.8 MB more, no faster
    return conn


def _journal_mode(conn: sqlite3.Connection, path: Path, journal: str) -> None:
    """WAL (``journal = "wal"``), or a rollback journal truncated after each commit (``"rollback"``). A file leaves WAL
    only when no other connection has it open (a technician's reader): it then stays in WAL, said in the log, and
    changes at the next start. Either way every commit is durable (``synchronous``) and the records the same."""
    wanted = "wal" if journal == "wal" else "truncate"
    try:
        mode = str(conn.execute(f"PRAGMA journal_mode={wanted.upper()}").fetchone()[0]).lower()
    except sqlite3.OperationalError as exc:  # "database is locked": a reader holds the WAL open
        mode, reason = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower(), str(exc)
    else:
        reason = "another process has the store open"
    if mode != wanted:
        log.warning("store_journal_unchanged", path=str(path), journal=mode, wanted=wanted, reason=reason,
                    action="the store keeps its journal until the next start")


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or bring an older one up to date (in one transaction: a cut leaves the old one whole)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"store schema version {version} is newer than this agent's ({SCHEMA_VERSION}); upgrade the agent"
        )
    if version == SCHEMA_VERSION:
        return
    fresh = conn.execute("SELECT 1 FROM sqlite_master WHERE name='records'").fetchone() is None
    with transaction(conn):
        if not fresh and version < 2:
            _acks_as_ranges(conn)
        if not fresh and version < 3:
            _drop_autoincrement(conn)
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: committed when the block ends, rolled back when it raises (unless SQLite already rolled
    it back itself, as on SQLITE_FULL: the cause is kept)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _acks_as_ranges(conn: sqlite3.Connection) -> None:
    """Version 1 to 2: acknowledged readings were flagged ``sent = 1`` one by one, with an index of the unsent. Every
    reading below the oldest unsent one is acknowledged (or set aside): that prefix becomes the first range; readings
    flagged above it keep their flag, which the queries still honour. The index of the unsent gives way to one on
    unsent events."""
    oldest = conn.execute("SELECT min(seq) FROM records WHERE sent = 0 AND kind = 0").fetchone()[0]
    top = conn.execute("SELECT max(seq) FROM records").fetchone()[0]
    last = (int(oldest) - 1) if oldest is not None else (int(top) if top is not None else 0)
    conn.execute("CREATE TABLE IF NOT EXISTS acked (first INTEGER PRIMARY KEY, last INTEGER NOT NULL)")
    if last > 0:
        conn.execute("INSERT OR REPLACE INTO acked(first, last) VALUES (0, ?)", (last,))
    conn.execute("DROP INDEX IF EXISTS records_outbox")


_AUTOINCREMENT = re.compile(r"(\bseq\s+INTEGER\s+PRIMARY\s+KEY)\s+AUTOINCREMENT\b", re.IGNORECASE)


def _drop_autoincrement(conn: sqlite3.Connection) -> None:
    """Version 2 to 3, in the migration's transaction: the last number AUTOINCREMENT handed out becomes the floor in
    ``meta``, and the keyword leaves the table's definition. The table's pages are the same with or without it (a
    rowid table either way), so the definition is edited in place (SQLite's documented procedure for a change that
    leaves the stored content alone: writable_schema, the new text, schema_version + 1) instead of copying every row
    of a month's store into a new table; a cut before the commit leaves version 2 whole."""
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (SEQ_FLOOR_KEY, last_seq(conn)))
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='records'").fetchone()[0]
    plain = _AUTOINCREMENT.sub(r"\1", sql, count=1)
    if plain == sql:
        return
    schema_version = int(conn.execute("PRAGMA schema_version").fetchone()[0])
    conn.execute("PRAGMA writable_schema=ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql=? WHERE type='table' AND name='records'", (plain,))
        conn.execute(f"PRAGMA schema_version={schema_version + 1}")
    finally:
        conn.execute("PRAGMA writable_schema=OFF")
    conn.execute("DELETE FROM sqlite_sequence WHERE name='records'")


def seq_file(path: Path) -> Path:
    return path.with_name(path.name + ".seq")


def _seed_sequence(conn: sqlite3.Connection, path: Path) -> None:
    """Make a fresh database continue the sequence of any database that came before it."""
    reserved = read_reserved(path)
    if reserved > 0 and last_seq(conn) == 0:
        with transaction(conn):
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (SEQ_FLOOR_KEY, reserved))


def read_reserved(path: Path) -> int:
    try:
        return int(seq_file(path).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def reserve_sequence(path: Path, up_to: int) -> None:
    """Durably note that sequence numbers up to ``up_to`` may be in use."""
    durable.write_atomically(seq_file(path), f"{up_to}\n".encode(), mode=0o640)
