"""The upstream wire format of records, batches and the gateway status (contract version 1)."""

from __future__ import annotations

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


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()


@dataclass(frozen=True)
class Batch:
    """A publishable batch: its payload and the sequence numbers it carries."""

    lane: Lane
    seqs: list[int]
    payload: bytes
    oversized: list[int]


def build_batch(gateway: str, lane: Lane, records: Sequence[StoredRecord], max_bytes: int, now: float) -> Batch:
    """As many records (in order) as fit in ``max_bytes``; a single record too big on its own is reported."""
    header = {"v": CONTRACT_VERSION, "gateway": gateway, "lane": lane.value, "sent_at": iso_utc(now)}
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
    payload = head + b',"records":[' + b",".join(parts) + b"]}"
    return Batch(lane=lane, seqs=seqs, payload=payload, oversized=oversized)


def status_payload(fields: dict[str, Any]) -> bytes:
    return _dumps({"v": CONTRACT_VERSION, **fields})
