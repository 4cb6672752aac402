"""The control protocol, version 1: one JSON object per line each way.

A request is ``{"v": 1, "op": "status", ...arguments}``. A reply is ``{"ok": true, ...}`` or
``{"ok": false, "error": "plain words"}``. Streaming operations (``tail``, ``sync``) answer with one
object per line until they end (``"end": true``) or the client hangs up. Pure: no I/O here.
"""

from __future__ import annotations

import json
import math
from typing import Any

from edge_agent.errors import EdgeAgentError
from edge_agent.reading import Event, Reading, Record
from edge_agent.safe_text import safe_data, safe_text

VERSION = 1
MAX_LINE = 64 * 1024
MAX_INT_DIGITS = 20  # every integer the operations take fits in 64 bits
MAX_FLOAT_CHARS = 40


class ProtocolError(EdgeAgentError):
    """A request or reply that does not follow the protocol."""


class RequestFailed(EdgeAgentError):
    """The agent understood the request and refused or failed it; the message says why."""


def encode(message: dict[str, Any]) -> bytes:
    """One line of JSON; text that cannot be encoded (a lone surrogate kept in an old record) is replaced."""
    return safe_text(json.dumps(message, separators=(",", ":"), default=str, ensure_ascii=False)).encode() + b"\n"


def request(op: str, **args: Any) -> bytes:
    return encode({"v": VERSION, "op": op, **args})


def parse_request(line: bytes) -> tuple[str, dict[str, Any]]:
    """The operation and its arguments; ProtocolError if the line is not a version-1 request (never another
    exception, whatever the bytes: numbers and nesting are bounded, text is made safe)."""
    try:
        message = safe_data(json.loads(line, parse_int=_bounded_int, parse_float=_bounded_float,
                                       parse_constant=_no_constant))
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProtocolError(f"not a JSON object: {safe_text(str(exc))[:200]}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a request is a JSON object")
    if message.get("v") != VERSION:
        raise ProtocolError(f"protocol version {message.get('v')!r} is not supported (this agent speaks {VERSION})")
    op = message.get("op")
    if not isinstance(op, str):
        raise ProtocolError("the request has no 'op'")
    return op, {key: value for key, value in message.items() if key not in ("v", "op")}


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ProtocolError(f"a number of {len(text)} digits; at most {MAX_INT_DIGITS} are taken")
    return int(text)


def _bounded_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_FLOAT_CHARS else math.inf
    if not math.isfinite(value):
        raise ProtocolError(f"the number {text[:20]}... is too long or too large")
    return value


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not a JSON number")


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


def reply_record_json(record: Record, seq: int | None = None) -> dict[str, Any]:
    """A committed reading or event as the CLI shows it (the same shape live and from the store)."""
    if isinstance(record, Reading):
        return {"type": "reading", "seq": seq, "ts": record.ts, "device": record.device, "point": record.point,
                "value": record.value, "unit": record.unit, "quality": record.quality.label}
    assert isinstance(record, Event)
    return {"type": "event", "seq": seq, "ts": record.ts, "device": record.device, "kind": record.kind,
            "priority": record.priority.name.lower(), "message": record.message, "data": record.data}
