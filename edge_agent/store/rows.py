"""Records to rows and back: the one place that knows the column layout."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from edge_agent.reading import Event, Priority, Quality, Reading, Record, Value
from edge_agent.safe_text import encodable, safe_text

KIND_READING = 0
KIND_EVENT = 1

# The store numbers the rows itself (``seq`` first, then a ``Row``): see ``Store._insert``.
INSERT_SQL = (
    "INSERT INTO records (seq, kind, priority, ts, device, point, value, vtype, unit, quality, synced, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT_COLUMNS = "seq, kind, priority, ts, device, point, value, vtype, unit, quality, synced, body, sent"
# A reading the store keeps as it is (``stored_as_is``, nearly all of them): its kind, priority and body written
# as constants, eight values bound instead of twelve, and the row built in one tuple.
INSERT_READING_SQL = (
    "INSERT INTO records (seq, kind, priority, ts, device, point, value, vtype, unit, quality, synced)"
    f" VALUES (?, {KIND_READING}, {int(Priority.ROUTINE)}, ?, ?, ?, ?, ?, ?, ?, ?)"
)

Row = tuple[int, float, float, str | None, str, Any, str | None, str | None, int, int, str | None]
_ROUTINE = int(Priority.ROUTINE)
_QUALITIES = tuple(Quality)  # Quality(n) is an enum call per row read: a tuple index instead
_QUALITY_CODES = frozenset(range(len(_QUALITIES)))


def to_row(record: Record) -> Row:
    """The values of an INSERT for a record; whatever its text or numbers, SQLite can bind them."""
    if isinstance(record, Reading):
        value, vtype = _encode_value(record.value)
        return (
            KIND_READING, _ROUTINE, record.ts, safe_text(record.device), safe_text(record.point), value,
            vtype, None if record.unit is None else safe_text(record.unit), int(record.quality),
            int(record.clock_synced), None,
        )
    body = json.dumps({"message": record.message, "data": record.data}, separators=(",", ":"), default=str)
    return (
        KIND_EVENT, int(record.priority), record.ts, None if record.device is None else safe_text(record.device),
        safe_text(record.kind), None, None, None, 0, int(record.clock_synced), body,
    )


def insert_params(records: Sequence[Record], first: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The parameters of the inserts of ``records`` numbered from ``first``: for ``INSERT_READING_SQL`` (the
    readings kept as they are) and for ``INSERT_SQL`` (the others)."""
    plain: list[tuple[Any, ...]] = []
    others: list[tuple[Any, ...]] = []
    for seq, record in enumerate(records, first):
        if type(record) is Reading and stored_as_is(record):
            value = record.value
            plain.append((seq, record.ts, record.device, record.point, value, "b" if type(value) is bool else None,
                          record.unit, int(record.quality), int(record.clock_synced)))
        else:
            others.append((seq, *to_row(record)))
    return plain, others


def unstorable_row(row: Row, error: Exception) -> Row:
    """The row of a ``record_unstorable`` event standing for a record SQLite could not take (same time, device)."""
    kind = "reading" if row[0] == KIND_READING else "event"
    what = f"{kind} {safe_text(str(row[4]))[:100]}"
    message = safe_text(f"a {what} could not be stored ({type(error).__name__}: {error})")[:300]
    body = json.dumps({"message": message, "data": {"point" if kind == "reading" else "kind": str(row[4])[:100]}},
                      separators=(",", ":"), default=str)
    device = row[3] if isinstance(row[3], str) else None
    return (KIND_EVENT, int(Priority.WARNING), row[2] if isinstance(row[2], float | int) else 0.0, device,
            "record_unstorable", None, None, None, 0, int(bool(row[9])), body)


def stored_as_is(reading: Reading) -> bool:
    """Whether ``from_row(to_row(reading))`` gives back an equal reading: plain numbers, flags or nothing as its
    value (a float that is not NaN, an integer SQLite holds), and text that needs no cleaning."""
    value = reading.value
    kind = type(value)
    if kind is float:
        if math.isnan(value):  # type: ignore[arg-type]  # SQLite keeps NULL
            return False
    elif kind is int:
        if not _SQLITE_MIN <= value <= _SQLITE_MAX:  # type: ignore[operator]
            return False
    elif kind is not bool and value is not None:
        return False
    # and whether ``safe_text`` keeps each text as it is: ASCII, or text that encodes as UTF-8 (a unit such as °C)
    device, point, unit = reading.device, reading.point, reading.unit
    return ((device.isascii() or encodable(device)) and (point.isascii() or encodable(point))
            and (unit is None or unit.isascii() or encodable(unit))
            and type(reading.quality) is Quality and type(reading.clock_synced) is bool)


def _encode_value(value: Value) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return int(value), "b"
    if isinstance(value, int) and not _SQLITE_MIN <= value <= _SQLITE_MAX:  # a u64 of all ones, say
        try:
            return float(value), None
        except OverflowError:
            return None, None
    if isinstance(value, str):
        return safe_text(value), None
    return value, None


_SQLITE_MIN, _SQLITE_MAX = -(2**63), 2**63 - 1


class StoredRecord(NamedTuple):
    """A record as the store holds it, with its sequence number. A named tuple: the uplink builds one for every
    reading it sends (``RecentReadings``), and a tuple is built in about half a frozen dataclass's time."""

    seq: int
    record: Record
    sent: bool

    @property
    def is_event(self) -> bool:
        return isinstance(self.record, Event)


def from_row(row: tuple[Any, ...]) -> StoredRecord:
    seq, kind, priority, ts, device, point, value, vtype, unit, quality, synced, body, sent = row
    record: Record
    if kind == KIND_READING:
        record = Reading(
            device=device, point=point, value=bool(value) if vtype == "b" else value, ts=ts, unit=unit,
            quality=_QUALITIES[quality] if quality in _QUALITY_CODES else Quality(quality), clock_synced=bool(synced),
        )
    else:
        details = json.loads(body) if body else {}
        record = Event(
            kind=point, ts=ts, priority=Priority(priority), device=device,
            message=details.get("message", ""), data=details.get("data", {}), clock_synced=bool(synced),
        )
    return StoredRecord(seq=seq, record=record, sent=bool(sent))
