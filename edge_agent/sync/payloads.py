"""The upstream wire format of records, batches and the gateway status (contract version 1)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edge_agent.reading import Event, Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.lanes import Lane

CONTRACT_VERSION = 1
REPORT_EVENT = "report.daily"  # an event that leaves alone, on the reports topic (docs/schemas/reports.json)


@functools.lru_cache(maxsize=4096)  # the readings of one poll share one timestamp
def iso_utc(ts: float) -> str:
    """UTC ISO 8601 with milliseconds and a Z."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def record_json(stored: StoredRecord) -> dict[str, Any]:
    """One record as the hypervisor sees it."""
    record = stored.record
    out: dict[str, Any] = {"seq": stored.seq, "ts": iso_utc(record.ts)}
    if not record.clock_synced:
        out["clock_synced"] = False
    if isinstance(record, Reading):
        out["device"] = record.device
        out["point"] = record.point
        out["value"] = _finite(record.value)
        if record.unit:
            out["unit"] = record.unit
        out["quality"] = record.quality.label
        return out
    assert isinstance(record, Event)
    out["event"] = record.kind
    out["priority"] = record.priority.name.lower()
    if record.device:
        out["device"] = record.device
    if record.message:
        out["message"] = record.message
    if record.data:
        out["data"] = record.data
    return out


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# One encoder for every message: json.dumps with options builds a new encoder at each call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _dumps(data: Any) -> bytes:
    return _ENCODER.encode(data).encode()


@dataclass(frozen=True)
class Batch:
    """A publishable batch: its payload and the sequence numbers it carries."""

    lane: Lane
    seqs: list[int]
    payload: bytes
    oversized: list[int]


def split_reports(records: Sequence[StoredRecord]) -> tuple[Lane, list[StoredRecord]]:
    """What of an events pick goes next: the events before the first daily report as one batch, or that report
    alone (it has a topic of its own). Order and acknowledgements stay those of the events lane."""
    for index, stored in enumerate(records):
        record = stored.record
        if isinstance(record, Event) and record.kind == REPORT_EVENT:
            return (Lane.REPORTS, [stored]) if index == 0 else (Lane.EVENTS, list(records[:index]))
    return Lane.EVENTS, list(records)


def build_batch(gateway: str, lane: Lane, records: Sequence[StoredRecord], max_bytes: int, now: float) -> Batch:
    """As many records (in order) as fit in ``max_bytes``; a single record too big on its own is reported."""
    header = {"v": CONTRACT_VERSION, "gateway": gateway, "lane": lane.value, "sent_at": iso_utc(now)}
    payload, seqs, oversized = _pack(header, records, max_bytes)
    return Batch(lane=lane, seqs=seqs, payload=payload, oversized=oversized)


def _pack(
    header: dict[str, Any], records: Sequence[StoredRecord], max_bytes: int
) -> tuple[bytes, list[int], list[int]]:
    overhead = len(_dumps({**header, "records": []}))
    parts: list[bytes] = []
    seqs: list[int] = []
    oversized: list[int] = []
    size = overhead
    for stored in records:
        encoded = _dumps(record_json(stored))
        if overhead + len(encoded) > max_bytes:
            oversized.append(stored.seq)
            continue
        if size + len(encoded) + 1 > max_bytes:
            break
        parts.append(encoded)
        seqs.append(stored.seq)
        size += len(encoded) + 1
    head = _dumps(header)[:-1]
    return head + b',"records":[' + b",".join(parts) + b"]}", seqs, oversized


def build_replay(gateway: str, request_id: str, records: Sequence[StoredRecord], max_bytes: int,
                 now: float) -> list[tuple[bytes, list[int]]]:
    """Replayed records with their original seqs, in order, cut into messages of at most ``max_bytes``."""
    header = {"v": CONTRACT_VERSION, "gateway": gateway, "lane": "replay", "request_id": request_id,
              "sent_at": iso_utc(now)}
    out: list[tuple[bytes, list[int]]] = []
    rest = list(records)
    while rest:
        payload, seqs, oversized = _pack(header, rest, max_bytes)
        if seqs:
            out.append((payload, seqs))
        done = set(seqs) | set(oversized)
        last_done = max(done) if done else rest[0].seq
        rest = [r for r in rest if r.seq > last_done]
    return out


def response_payload(request_id: str | None, command: str | None, now: float, *,
                     result: dict[str, Any] | None = None, error: dict[str, str] | None = None) -> bytes:
    """The one answer to a command request: ``ok`` with a result, or an error with a code."""
    body: dict[str, Any] = {"v": CONTRACT_VERSION, "id": request_id, "command": command, "ts": iso_utc(now),
                            "ok": error is None}
    if error is None:
        body["result"] = result or {}
    else:
        body["error"] = error
    return _dumps(body)


def inventory_payload(fields: dict[str, Any]) -> bytes:
    return _dumps({"v": CONTRACT_VERSION, **fields})


def status_payload(fields: dict[str, Any]) -> bytes:
    return _dumps({"v": CONTRACT_VERSION, **fields})
