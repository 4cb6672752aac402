"""The control protocol, version 1: one JSON object per line each way.

A request is ``{"v": 1, "op": "status", ...arguments}``. A reply is ``{"ok": true, ...}`` or
``{"ok": false, "error": "plain words"}``. Streaming operations (``tail``, ``sync``) answer with one
object per line until they end (``"end": true``) or the client hangs up. Pure: no I/O here.
"""

from __future__ import annotations

import json
from typing import Any

from edge_agent.errors import EdgeAgentError
from edge_agent.reading import Event, Reading, Record

VERSION = 1
MAX_LINE = 64 * 1024


class ProtocolError(EdgeAgentError):
    """A request or reply that does not follow the protocol."""


class RequestFailed(EdgeAgentError):
    """The agent understood the request and refused or failed it; the message says why."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str, ensure_ascii=False).encode() + b"\n"


def request(op: str, **args: Any) -> bytes:
    return encode({"v": VERSION, "op": op, **args})


def parse_request(line: bytes) -> tuple[str, dict[str, Any]]:
    """The operation and its arguments; ProtocolError if the line is not a version-1 request."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON object: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a request is a JSON object")
    if message.get("v") != VERSION:
        raise ProtocolError(f"protocol version {message.get('v')!r} is not supported (this agent speaks {VERSION})")
    op = message.get("op")
    if not isinstance(op, str):
        raise ProtocolError("the request has no 'op'")
    return op, {key: value for key, value in message.items() if key not in ("v", "op")}


def parse_reply(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"the agent sent something that is not JSON: {exc}") from None
    if not isinstance(message, dict) or "ok" not in message:
        raise ProtocolError("the agent sent a reply without 'ok'")
    return message


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def record_json(record: Record, seq: int | None = None) -> dict[str, Any]:
    """A committed reading or event as the CLI shows it (the same shape live and from the store)."""
    if isinstance(record, Reading):
        return {"type": "reading", "seq": seq, "ts": record.ts, "device": record.device, "point": record.point,
                "value": record.value, "unit": record.unit, "quality": record.quality.label}
    assert isinstance(record, Event)
    return {"type": "event", "seq": seq, "ts": record.ts, "device": record.device, "kind": record.kind,
            "priority": record.priority.name.lower(), "message": record.message, "data": record.data}
