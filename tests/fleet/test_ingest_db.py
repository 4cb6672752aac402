"""The ingest's PostgreSQL side against a real PostgreSQL: migrations once, duplicates vanish, gaps tracked."""

from __future__ import annotations

import json
import threading

import psycopg

from edge_agent.hypervisor import db
from edge_agent.hypervisor.migrate import apply_migrations, bundled
from edge_agent.hypervisor.wire import decode_batch, decode_status


def batch(gateway: str, seqs: list[int]) -> bytes:
    records = [{"seq": s, "ts": "2026-11-28T10:00:00.000Z", "device": "m", "point": "p", "value": s} for s in seqs]
    return json.dumps({"v": 1, "gateway": gateway, "lane": "live", "sent_at": "2026-11-28T10:00:01.000Z",
                       "records": records}).encode()


def test_migrations_apply_once_even_when_two_workers_start_together(pg_dsn: str) -> None:
    results: list[list[str]] = []

    def migrate() -> None:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            results.append(apply_migrations(conn))

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=len) == [[], [m.name for m in bundled()]]
    with psycopg.connect(pg_dsn) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in bundled()]


def test_duplicates_vanish_and_gaps_open_and_close(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        apply_migrations(conn)
        assert db.write_batches(conn, [decode_batch("gw-1", batch("gw-1", [1, 2, 3, 6, 7]))]) == 5
        assert db.write_batches(conn, [decode_batch("gw-1", batch("gw-1", [2, 3, 6]))]) == 0
        db.write_status(conn, decode_status("gw-1", b'{"v":1,"online":true,"backlog":0,"last_seq":9}'))
        state = db.gateways_to_scan(conn)[0]
        with conn.transaction():
            gaps = db.scan_gateway(conn, state, 1000.0)
        assert [(g.first, g.last) for g in gaps] == [(4, 5), (8, 9)]
        fresh = db.freshness(conn)[0]
        assert (fresh["gaps_open"], fresh["missing_records"], fresh["max_seq"]) == (2, 4, 7)
        db.write_batches(conn, [decode_batch("gw-1", batch("gw-1", [4, 5]))])
        assert db.abandon_range(conn, "gw-1", 8, 9) == 1
        with conn.transaction():
            assert db.scan_gateway(conn, db.gateways_to_scan(conn)[0], 1001.0) == []
        fresh = db.freshness(conn)[0]
        assert (fresh["gaps_open"], fresh["gaps_abandoned"]) == (0, 1)
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (7,)
