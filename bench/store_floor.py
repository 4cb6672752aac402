"""What an SD card must take per reading at a commune's rates, whatever the store does: SQLite bytes written per
reading, the checkpoint included, by journal mode, page size and how often readings are committed.

A what-if study on the store's own table (made by ``Store.open``, then reopened bare to change its journal mode
and page size), not the agent: the agent's store is WAL with 1 KB pages and commits every
``store.commit_interval`` (1 s), see docs/performance.md, "Why <= 2x the row is not reachable at 1 s commits".

The commune's pattern (as ``bench.commune.commune_commit_pattern``): every 10 s the 40 TCP devices' in-phase burst
(827 readings), and a trickle of 27 readings a second (the RTU bus, the meter polled every second, LoRaWAN).
A commit takes whatever arrived since the one before, every ``interval`` seconds and at each burst; the
acknowledgements' range is rewritten in a commit at most every 5 s (``group_commit.ACK_EVERY``). Counted with
``/proc/self/io`` (what the kernel accounts to the disk: whole 4 KB pages dirtied), from a checkpointed file to a
checkpointed file, so that WAL's second write is in the figure. Each is measured twice: on a young file, which
grows (its new pages appended), and on a file at its retention, whose new rows fill the pages the hourly prune
freed (two windows' worth of older rows written, then deleted, before the window).

    python -m bench.store_floor [--seconds 120]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import io_written
from bench.pipeline import row_bytes
from edge_agent.config.store import StoreConfig
from edge_agent.store.group_commit import ACK_EVERY
from edge_agent.store.rows import INSERT_SQL
from edge_agent.store.store import Store

BURST, TRICKLE, CYCLE = 827, 27, 10


@dataclass(frozen=True)
class Floor:
    journal: str
    page_size: int
    interval: int
    bytes_per_reading: float
    row: float
    reused: bool = False  # the file at its retention: new rows in pages the prune freed

    @property
    def ratio(self) -> float:
        return self.bytes_per_reading / self.row


def _bare_store(folder: Path, journal: str, page_size: int) -> sqlite3.Connection:
    path = folder / "store.db"
    Store.open(StoreConfig(path=path, max_bytes=2_000_000_000)).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")  # a page size only changes out of WAL, with a VACUUM
    conn.execute(f"PRAGMA page_size={page_size}")
    conn.execute("VACUUM")
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def measure(journal: str, page_size: int, interval: int, seconds: int = 120, *, reused: bool = False) -> Floor:
    with tempfile.TemporaryDirectory(prefix="store-floor-") as tmp:
        conn = _bare_store(Path(tmp), journal, page_size)
        now, seq = time.time(), 0

        def commit(count: int, ack: bool) -> None:
            nonlocal seq
            rows = [(seq + k + 1, 0, 1, now, f"tcp-{k % 40:03d}", f"point_{k % 14}", 230.0 + k * 0.37, None, "V",
                     0, 1, None) for k in range(count)]
            seq += count
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT_SQL, rows)
            if ack:
                conn.execute("INSERT OR REPLACE INTO acked(first, last) VALUES (1, ?)", (seq - count,))
            conn.execute("COMMIT")

        if reused:  # a file at its retention: the prune has freed the pages of two windows' worth of rows
            window = (BURST + TRICKLE * CYCLE) * seconds // CYCLE
            for _ in range(20):
                commit(window // 10, False)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("DELETE FROM records WHERE seq <= ?", (seq,))
        commit(BURST + TRICKLE, False)  # the first pages exist before counting
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = io_written() or 0
        readings = waiting = 0
        last_commit = last_ack = 0
        for second in range(seconds):
            burst = second % CYCLE == 0
            waiting += TRICKLE + (BURST if burst else 0)
            if burst or second - last_commit >= interval:
                ack = second - last_ack >= ACK_EVERY
                last_ack = second if ack else last_ack
                commit(waiting, ack)
                readings, waiting, last_commit = readings + waiting, 0, second
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no-op out of WAL
        written = (io_written() or 0) - before
        conn.close()
        row = row_bytes(Path(tmp) / "store.db") or float("nan")
    return Floor(journal, page_size, interval, written / readings, row, reused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120, help="simulated seconds of a commune per measure")
    args = parser.parse_args()
    print("journal   page  commit every  file       bytes/reading  row    ratio (checkpoint included)")
    for journal in ("wal", "truncate"):
        for page_size in (1024, 4096):
            for interval in (1, 2, 5, 10):
                for reused in (False, True):
                    f = measure(journal, page_size, interval, args.seconds, reused=reused)
                    print(f"{f.journal:8s} {f.page_size:5d}  {f.interval:5d} s      "
                          f"{'reused' if f.reused else 'young ':9s}  {f.bytes_per_reading:8.1f}"
                          f"     {f.row:5.1f}  {f.ratio:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
