"""The upstream wire format of records, batches and the gateway status (contract version 1)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge_agent.frozen import frozen
from edge_agent.reading import Event, Quality, Reading
from edge_agent.safe_text import safe_data, safe_text
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.lanes import Lane

CONTRACT_VERSION = 1
REPORT_EVENT = "report.daily"  # an event that leaves alone, on the reports topic (docs/schemas/reports.json)
# The instants iso_utc writes: from 1970 (a gateway without a battery clock starts there) up to year 9999.
_FIRST_TS = 0.0
_LAST_TS = 253_402_214_400.0  # 9999-12-31T00:00:00Z


@functools.lru_cache(maxsize=64)  # the readings of one poll share one time, and follow one another in a batch
def iso_utc(ts: float) -> str:
    """UTC ISO 8601 with milliseconds and a Z; ValueError for an instant outside 1970-9999 (or NaN).

    The milliseconds are those of ``datetime.fromtimestamp(ts, UTC)`` (microseconds rounded half to even, then cut
    to milliseconds); the date and time of the whole second come from a cache of their own: every poll has a time
    of its own, but a second holds hundreds of them. Both caches are small: a batch writes each time once, and
    4,096 times held 1 MB (docs/performance.md)."""
    if not _FIRST_TS <= ts < _LAST_TS:
        raise ValueError(f"timestamp {str(ts)[:40]} is outside 1970-9999")
    fraction, whole = math.modf(ts)
    second, micro = int(whole), round(fraction * 1_000_000)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    return f"{_utc_second(second)}.{micro // 1000:03d}Z"


@functools.lru_cache(maxsize=64)
def _utc_second(second: int) -> str:
    moment = datetime.fromtimestamp(second, tz=UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}")


_LABELS = {quality: quality.label for quality in Quality}


@functools.lru_cache(maxsize=8192)  # device, point and unit names repeat at every poll
def _json_text(text: str) -> str:
    return _ENCODER.encode(text)


def _reading_json(seq: int, reading: Reading) -> bytes | None:
    """A reading's JSON written directly, byte for byte what ``_dumps(wire_record_json(...))`` writes; None for a value
    this shortcut does not handle (text, NaN, ...), which then takes the general path."""
    value = reading.value
    kind = type(value)
    if isinstance(value, float) and kind is float:
        if not math.isfinite(value):
            return None
        text = float.__repr__(value)
    elif isinstance(value, int) and kind is int:
        text = int.__repr__(value)
    elif kind is bool:
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    else:
        return None
    synced = "" if reading.clock_synced else ',"clock_synced":false'
    unit = f',"unit":{_json_text(reading.unit)}' if reading.unit else ""
    return (f'{{"seq":{seq},"ts":"{iso_utc(reading.ts)}"{synced},"device":{_json_text(reading.device)},'
            f'"point":{_json_text(reading.point)},"value":{text}{unit},"quality":"{_LABELS[reading.quality]}"}}'
            ).encode()


def wire_record_json(stored: StoredRecord) -> dict[str, Any]:
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
        out["quality"] = _LABELS[record.quality]
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


@frozen
class Batch:
    """A publishable batch: its payload and the sequence numbers it carries; the records left out because they
    are too big on their own (``oversized``) or cannot be encoded at all (``unencodable``: seq and why)."""

    lane: Lane
    seqs: list[int]
    payload: bytes
    oversized: list[int]
    unencodable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def left_out(self) -> list[int]:
        return sorted([*self.oversized, *(seq for seq, _ in self.unencodable)])


def split_reports(records: Sequence[StoredRecord]) -> tuple[Lane, list[StoredRecord]]:
    """What of an events pick goes next: the events before the first daily report as one batch, or that report
    alone (it has a topic of its own). Order and acknowledgements stay those of the events lane."""
    for index, stored in enumerate(records):
        record = stored.record
        if isinstance(record, Event) and record.kind == REPORT_EVENT:
            return (Lane.REPORTS, [stored]) if index == 0 else (Lane.EVENTS, list(records[:index]))
    return Lane.EVENTS, list(records)


def build_batch(gateway: str, lane: Lane, records: Sequence[StoredRecord], max_bytes: int, now: float) -> Batch:
    """As many records (in order) as fit in ``max_bytes``; a single record too big on its own, or one that cannot
    be encoded for whatever reason, is reported and never stops the records behind it."""
    header = {"v": CONTRACT_VERSION, "gateway": gateway, "lane": lane.value, "sent_at": iso_utc(now)}
    packed = _pack(header, records, max_bytes)
    return Batch(lane=lane, seqs=packed.seqs, payload=packed.payload, oversized=packed.oversized,
                 unencodable=packed.unencodable)


@dataclass
class _Packed:
    payload: bytes
    seqs: list[int]
    oversized: list[int]
    unencodable: list[tuple[int, str]]


def encode_record(stored: StoredRecord) -> bytes:
    """One record's JSON; any failure (text that is not UTF-8, a time that cannot be written...) is a ValueError."""
    try:
        record = stored.record
        if type(record) is Reading:
            fast = _reading_json(stored.seq, record)
            if fast is not None:
                return fast
        return _dumps(wire_record_json(stored))
    except Exception as exc:
        raise ValueError(f"{type(exc).__name__}: {safe_text(str(exc))[:200]}") from exc


def _pack(header: dict[str, Any], records: Sequence[StoredRecord], max_bytes: int) -> _Packed:
    overhead = len(_dumps({**header, "records": []}))
    parts: list[bytes] = []
    packed = _Packed(b"", [], [], [])
    size = overhead
    for stored in records:
        try:
            encoded = encode_record(stored)
        except ValueError as exc:
            packed.unencodable.append((stored.seq, str(exc)))
            continue
        if overhead + len(encoded) > max_bytes:
            packed.oversized.append(stored.seq)
            continue
        if size + len(encoded) + 1 > max_bytes:
            break
        parts.append(encoded)
        packed.seqs.append(stored.seq)
        size += len(encoded) + 1
    head = _dumps(header)[:-1]
    packed.payload = head + b',"records":[' + b",".join(parts) + b"]}"
    return packed


def build_replay(gateway: str, request_id: str, records: Sequence[StoredRecord], max_bytes: int,
                 now: float) -> list[tuple[bytes, list[int]]]:
    """Replayed records with their original seqs, in order, cut into messages of at most ``max_bytes``."""
    header = {"v": CONTRACT_VERSION, "gateway": gateway, "lane": "replay", "request_id": request_id,
              "sent_at": iso_utc(now)}
    out: list[tuple[bytes, list[int]]] = []
    rest = list(records)
    while rest:
        packed = _pack(header, rest, max_bytes)
        if packed.seqs:
            out.append((packed.payload, packed.seqs))
        done = set(packed.seqs) | set(packed.oversized) | {seq for seq, _ in packed.unencodable}
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
    return _dumps(safe_data(body))  # an answer always goes out, whatever text the request carried


def inventory_payload(fields: dict[str, Any]) -> bytes:
    return _dumps({"v": CONTRACT_VERSION, **fields})


def status_payload(fields: dict[str, Any]) -> bytes:
    return _dumps({"v": CONTRACT_VERSION, **fields})
