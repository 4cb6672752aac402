"""Everything the ingest asks of PostgreSQL: batched inserts, gateway state, gap bookkeeping, freshness."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from edge_agent.hypervisor.gaps import Gap, holes_between, tail_hole
from edge_agent.hypervisor.wire import IncomingBatch, StatusMessage

Conn = psycopg.Connection[Any]

_SCAN_LOCK = 0x47415053  # one worker at a time scans gaps and sends replay requests

_INSERT = """
INSERT INTO records (gateway, seq, kind, ts, device, point, value, unit, quality, event, priority, extra, lane,
                     sent_at)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::jsonb[],
                     %s::text[], %s::text[], %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::timestamptz[])
ON CONFLICT (gateway, seq) DO NOTHING
"""

_TOUCH = """
INSERT INTO gateways (gateway, max_seq) VALUES (%s, %s)
ON CONFLICT (gateway) DO UPDATE SET last_seen = now(), max_seq = greatest(gateways.max_seq, excluded.max_seq)
"""


def write_batches(conn: Conn, batches: Sequence[IncomingBatch]) -> int:
    """Insert every record of the batches in one transaction; return how many rows were new."""
    columns: list[list[Any]] = [[] for _ in range(14)]
    top: dict[str, int] = {}
    for batch in batches:
        for r in batch.records:
            row = (batch.gateway, r.seq, r.kind, r.ts, r.device, r.point, Jsonb(r.value), r.unit, r.quality,
                   r.event, r.priority, Jsonb(r.extra) if r.extra is not None else None, batch.lane, batch.sent_at)
            for column, value in zip(columns, row, strict=True):
                column.append(value)
            top[batch.gateway] = max(top.get(batch.gateway, 0), r.seq)
    with conn.transaction():
        for gateway in sorted(top):  # a fixed order: two workers never deadlock on gateway rows
            conn.execute(_TOUCH, (gateway, top[gateway]))
        if not columns[0]:
            return 0
        cursor = conn.execute(_INSERT, columns)
        return max(cursor.rowcount, 0)


def write_status(conn: Conn, status: StatusMessage) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO gateways (gateway, online, status, status_at, reported_last_seq, reported_backlog)"
            " VALUES (%s, %s, %s, now(), %s, %s)"
            " ON CONFLICT (gateway) DO UPDATE SET last_seen = now(), online = excluded.online,"
            " status = excluded.status, status_at = now(),"
            " reported_last_seq = coalesce(excluded.reported_last_seq, gateways.reported_last_seq),"
            " reported_backlog = coalesce(excluded.reported_backlog, gateways.reported_backlog)",
            (status.gateway, status.online, Jsonb(status.fields), status.last_seq, status.backlog),
        )


def try_scan_lock(conn: Conn) -> bool:
    """True when this worker is the one to scan now (a session lock: release it with ``scan_unlock``)."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_SCAN_LOCK,)).fetchone()
    return bool(row and row[0])


def scan_unlock(conn: Conn) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (_SCAN_LOCK,))


ScanState = tuple[str, int, int, int | None, int | None]


def gateways_to_scan(conn: Conn) -> list[ScanState]:
    """Gateways whose sequence is not known complete: (gateway, contiguous_upto, max_seq, last_seq, backlog)."""
    return [tuple(row) for row in conn.execute(
        "SELECT gateway, contiguous_upto, max_seq, reported_last_seq, reported_backlog FROM gateways"
        " WHERE max_seq > contiguous_upto OR reported_last_seq > max_seq"
        " OR EXISTS (SELECT 1 FROM gaps WHERE gaps.gateway = gateways.gateway AND state = 'open')"
        " ORDER BY gateway")]


def scan_gateway(conn: Conn, state: ScanState, now: float) -> list[Gap]:
    """Refresh one gateway's gaps from its records (call it in a transaction); return its open gaps."""
    return _scan_one(conn, state, now)


def _scan_one(conn: Conn, state: ScanState, now: float) -> list[Gap]:
    gateway, upto, max_seq, last_seq, backlog = state
    seqs = [int(r[0]) for r in conn.execute(
        "SELECT seq FROM records WHERE gateway = %s AND seq > %s ORDER BY seq", (gateway, upto))]
    holes = holes_between(seqs, upto)
    tail = tail_hole(max_seq, last_seq, backlog)
    if tail is not None:
        holes.append(tail)
    abandoned = conn.execute(
        "SELECT first_seq, last_seq FROM gaps WHERE gateway = %s AND state = 'abandoned'", (gateway,)).fetchall()
    holes = [h for h in holes if not any(a <= h[0] and h[1] <= b for a, b in abandoned)]
    known = [_gap(gateway, row) for row in conn.execute(
        "SELECT first_seq, last_seq, extract(epoch FROM found_at), extract(epoch FROM requested_at), attempts"
        " FROM gaps WHERE gateway = %s AND state = 'open'", (gateway,))]
    conn.execute("DELETE FROM gaps WHERE gateway = %s AND state = 'open'", (gateway,))
    current = [_inherit(gateway, first, last, known, now) for first, last in holes]
    for gap in current:
        conn.execute(
            "INSERT INTO gaps (gateway, first_seq, last_seq, found_at, requested_at, attempts)"
            " VALUES (%s, %s, %s, to_timestamp(%s), to_timestamp(%s), %s) ON CONFLICT DO NOTHING",
            (gateway, gap.first, gap.last, gap.found_at, gap.requested_at, gap.attempts),
        )
    complete = min((g.first for g in current), default=max_seq + 1) - 1
    conn.execute("UPDATE gateways SET contiguous_upto = greatest(contiguous_upto, %s) WHERE gateway = %s",
                 (min(complete, max_seq), gateway))
    return current


def _gap(gateway: str, row: Any) -> Gap:
    first, last, found, requested, attempts = row
    return Gap(gateway, int(first), int(last), float(found), float(requested) if requested is not None else None,
               int(attempts))


def _inherit(gateway: str, first: int, last: int, known: list[Gap], now: float) -> Gap:
    """A hole inside a gap seen before keeps that gap's age and attempts (a replay filled it only in part)."""
    for gap in known:
        if gap.first <= first and last <= gap.last:
            return Gap(gateway, first, last, gap.found_at, gap.requested_at, gap.attempts)
    return Gap(gateway, first, last, now, None, 0)


def mark_requested(conn: Conn, gaps: Sequence[Gap], now: float) -> None:
    for gap in gaps:
        conn.execute(
            "UPDATE gaps SET requested_at = to_timestamp(%s), attempts = attempts + 1"
            " WHERE gateway = %s AND first_seq = %s AND last_seq = %s", (now, gap.gateway, gap.first, gap.last))


def mark_abandoned(conn: Conn, gaps: Sequence[Gap]) -> None:
    for gap in gaps:
        conn.execute("UPDATE gaps SET state = 'abandoned' WHERE gateway = %s AND first_seq = %s AND last_seq = %s",
                     (gap.gateway, gap.first, gap.last))


def abandon_range(conn: Conn, gateway: str, first: int, last: int) -> int:
    """The gateway answered that it holds nothing in ``first..last``: its open gaps there are given up."""
    with conn.transaction():
        cursor = conn.execute(
            "UPDATE gaps SET state = 'abandoned' WHERE gateway = %s AND state = 'open'"
            " AND first_seq >= %s AND last_seq <= %s", (gateway, first, last))
    return max(cursor.rowcount, 0)


def replay_progressed(conn: Conn, gateway: str, first: int, last: int) -> None:
    """The gateway sent records of ``first..last``: what is still missing there (a truncated replay, whose answer
    says where to go on) is asked again after the usual wait, without counting towards giving up."""
    with conn.transaction():
        conn.execute("UPDATE gaps SET attempts = 0 WHERE gateway = %s AND state = 'open'"
                     " AND last_seq >= %s AND first_seq <= %s + 1", (gateway, first, last))


FRESHNESS_COLUMNS = ("gateway", "last_seen", "silent_s", "online", "backlog", "max_seq", "gaps_open",
                     "missing_records", "gaps_abandoned")


def freshness(conn: Conn) -> list[dict[str, Any]]:
    cursor = conn.execute(f"SELECT {', '.join(FRESHNESS_COLUMNS)} FROM gateway_freshness ORDER BY gateway")
    return [dict(zip(FRESHNESS_COLUMNS, row, strict=True)) for row in cursor]
