"""The contract as the hypervisor reads it (pure): batches and status in, replay requests out.

A batch is the JSON of contract v1; a payload whose first byte is 0x78 is the same JSON compressed with zlib
(RFC 1950), which the agent sends only when ``upstream.sync.compression = "deflate"``. JSON never starts with 0x78.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from typing import Any

from edge_agent.errors import EdgeAgentError
from edge_agent.frozen import frozen

CONTRACT_VERSION = 1
_ZLIB_FIRST_BYTE = 0x78
_MAX_INFLATED = 64 * 1024 * 1024


class BadPayload(EdgeAgentError):
    """A message that does not follow the contract: logged with its gateway, counted, skipped."""


@frozen
class RecordRow:
    """One record, shaped like a row of the ``records`` table."""

    seq: int
    kind: str
    ts: datetime
    device: str | None
    point: str | None
    value: Any
    unit: str | None
    quality: str | None
    event: str | None
    priority: str | None
    extra: dict[str, Any] | None


@frozen
class IncomingBatch:
    gateway: str
    lane: str
    sent_at: datetime | None
    records: list[RecordRow]


@frozen
class StatusMessage:
    """A gateway's retained status message as the ingest reads it."""

    gateway: str
    online: bool
    last_seq: int | None
    backlog: int | None
    fields: dict[str, Any]


def topic_gateway(topic: str) -> tuple[str, str]:
    """``<prefix>/<gateway>/<kind>`` (the prefix may hold slashes) → (gateway, kind)."""
    parts = topic.split("/")
    if len(parts) < 3:
        raise BadPayload(f"unexpected topic {topic!r}")
    return parts[-2], parts[-1]


def _json(payload: bytes) -> dict[str, Any]:
    if payload[:1] == bytes([_ZLIB_FIRST_BYTE]):
        try:
            inflater = zlib.decompressobj()
            payload = inflater.decompress(payload, _MAX_INFLATED)
        except zlib.error as exc:
            raise BadPayload(f"bad deflate data: {exc}") from exc
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("not a JSON object")
    if data.get("v") != CONTRACT_VERSION:
        raise BadPayload(f"unknown contract version {data.get('v')!r}")
    return data


def _time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise BadPayload(f"timestamp {text!r} is not a string")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"bad timestamp {text!r}") from exc


def _record(item: Any) -> RecordRow:
    if not isinstance(item, dict) or not isinstance(item.get("seq"), int) or item["seq"] < 1:
        raise BadPayload(f"record without a positive integer seq: {str(item)[:80]}")
    ts = _time(item.get("ts"))
    if "event" in item:
        extra = {k: item[k] for k in ("message", "data", "clock_synced") if k in item}
        return RecordRow(item["seq"], "event", ts, item.get("device"), None, None, None, None,
                         str(item["event"]), str(item.get("priority", "")), extra or None)
    if "point" not in item or "device" not in item:
        raise BadPayload(f"record {item['seq']} is neither a reading nor an event")
    flag = {"clock_synced": False} if item.get("clock_synced") is False else None
    return RecordRow(item["seq"], "reading", ts, str(item["device"]), str(item["point"]), item.get("value"),
                     item.get("unit"), item.get("quality"), None, None, flag)


def decode_batch(topic_gw: str, payload: bytes) -> IncomingBatch:
    """A readings or events batch; the gateway in the topic must match the payload's (ACLs are per subtree)."""
    data = _json(payload)
    if data.get("gateway") != topic_gw:
        raise BadPayload(f"payload gateway {data.get('gateway')!r} differs from the topic's {topic_gw!r}")
    records = data.get("records")
    if not isinstance(records, list):
        raise BadPayload("no records list")
    sent_at = _time(data["sent_at"]) if "sent_at" in data else None
    return IncomingBatch(topic_gw, str(data.get("lane", "")), sent_at, [_record(item) for item in records])


def decode_status(topic_gw: str, payload: bytes) -> StatusMessage:
    data = _json(payload)
    last_seq = data.get("last_seq")
    backlog = data.get("backlog")
    return StatusMessage(
        gateway=topic_gw, online=bool(data.get("online")),
        last_seq=last_seq if isinstance(last_seq, int) else None,
        backlog=backlog if isinstance(backlog, int) else None, fields=data,
    )


def replay_request(prefix: str, gateway: str, first: int, last: int, *, request_id: str,
                   now: float) -> tuple[str, bytes]:
    """The ``replay`` command (docs/asyncapi.yaml): the gateway sends records ``first..last`` that it still holds
    on ``<prefix>/<gateway>/replay`` with their original seqs, then answers on ``.../responses``."""
    body = {"v": CONTRACT_VERSION, "id": request_id, "command": "replay", "sent_at": _iso(now),
            "args": {"first": first, "last": last}}
    return f"{prefix}/{gateway}/commands", json.dumps(body, separators=(",", ":")).encode()


@frozen
class ReplayAnswer:
    """A gateway's answer to a replay request: which range it covered and how many records it sent."""

    gateway: str
    request_id: str
    ok: bool
    first: int | None
    last: int | None
    count: int | None
    error: str | None


def decode_response(topic_gw: str, payload: bytes) -> ReplayAnswer | None:
    """The answer to a replay request, or None for an answer to another command."""
    data = _json(payload)
    if data.get("command") != "replay":
        return None
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    assert isinstance(result, dict)

    def number(key: str) -> int | None:
        value = result.get(key)
        return value if isinstance(value, int) else None

    error = data.get("error")
    return ReplayAnswer(topic_gw, str(data.get("id")), data.get("ok") is True, number("first"), number("last"),
                        number("count"), json.dumps(error) if error is not None else None)


def _iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
