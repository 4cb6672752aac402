"""Command requests from the hypervisor: parsing and validation (pure, no I/O, clock passed in).

A request is a JSON object ``{"v": 1, "id": "...", "command": "...", "sent_at": "...Z", "args": {...}}``.
``parse_request`` returns a ``Request`` or raises ``CommandFailure`` with a precise code; a failure found after
the id was read carries it (``RequestRefused.request_id``) so that the refusal can be answered to that id.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from edge_agent.clock import plausible
from edge_agent.commands.errors import CommandFailure, ErrorCode
from edge_agent.frozen import frozen
from edge_agent.rules.overrides import MAX_OVERRIDE_S
from edge_agent.safe_text import encodable, safe_data

REQUEST_VERSION = 1
MAX_PAYLOAD = 512 * 1024
MAX_CONFIG_BYTES = 256 * 1024
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ENVELOPE = {"v", "id", "command", "sent_at", "args"}


@frozen
class Known:
    """What the gateway has: device and lighting group names."""

    devices: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


@frozen
class Request:
    id: str
    command: str
    sent_at: float
    args: dict[str, Any] = field(default_factory=dict)


class RequestRefused(CommandFailure):
    """A refusal, with the request's id and command when they could be read."""

    def __init__(self, failure: CommandFailure, request_id: str | None, command: str | None) -> None:
        super().__init__(failure.code, failure.message, failure.field)
        self.request_id = request_id
        self.command = command


def parse_request(payload: bytes, *, now: float, max_age: float, clock_synced: bool, known: Known,
                  replay_max: int) -> Request:
    """Validate one request; raise RequestRefused with a precise code."""
    raw = _json_object(payload)
    body: dict[str, Any] = safe_data(raw)  # every key and string made safe to answer, log and keep
    request_id = _request_id(body)
    command = body.get("command") if isinstance(body.get("command"), str) else None
    try:
        _envelope(body)
        sent_at = _sent_at(body, now, max_age, clock_synced)
        validator = _VALIDATORS.get(str(command))
        if validator is None:
            raise CommandFailure(ErrorCode.UNKNOWN_COMMAND, f"unknown command {command!r}; known: "
                                 f"{', '.join(sorted(_VALIDATORS))}", "command")
        args = body.get("args", {})
        if not isinstance(args, dict):
            raise CommandFailure(ErrorCode.BAD_FIELD, "args must be an object", "args")
        if command == "config_push":
            _config_is_text(raw.get("args", {}))
        checked = validator(_Args(args), known, replay_max)
    except CommandFailure as failure:
        raise RequestRefused(failure, request_id, command) from None
    return Request(id=request_id, command=str(command), sent_at=sent_at, args=checked)


def readable_id(payload: bytes) -> str | None:
    """The request's id when the payload is a JSON object with a valid one (to answer a request not parsed)."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and _ID.match(value) else None


def _config_is_text(args: dict[str, Any]) -> None:
    """The pushed config as sent, before anything was made safe: text that is not Unicode is no config."""
    text = args.get("config")
    if isinstance(text, str) and not encodable(text):
        raise CommandFailure(ErrorCode.CONFIG_INVALID, "the config is not Unicode text (it holds a lone UTF-16"
                             " surrogate); send the site config as UTF-8 TOML", "args.config")


def _json_object(payload: bytes) -> dict[str, Any]:
    def refuse(message: str) -> RequestRefused:
        return RequestRefused(CommandFailure(ErrorCode.MALFORMED, message), None, None)

    if len(payload) > MAX_PAYLOAD:
        raise refuse(f"request larger than {MAX_PAYLOAD} bytes")
    try:
        body = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise refuse(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(body, dict):
        raise refuse("a request is a JSON object")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _request_id(body: Mapping[str, Any]) -> str:
    value = body.get("id")
    if not isinstance(value, str) or not _ID.match(value):
        failure = CommandFailure(ErrorCode.MALFORMED, "id must be a string of 1-64 letters, digits or _.:-", "id")
        raise RequestRefused(failure, None, None)
    return value


def _envelope(body: Mapping[str, Any]) -> None:
    extra = sorted(set(body) - _ENVELOPE)
    if extra:
        raise CommandFailure(ErrorCode.BAD_FIELD, f"unexpected field {extra[0]!r}", extra[0])
    version = body.get("v")
    if type(version) is not int:
        raise CommandFailure(ErrorCode.BAD_FIELD, "v must be an integer (the request format version)", "v")
    if version != REQUEST_VERSION:
        raise CommandFailure(ErrorCode.UNSUPPORTED_VERSION, f"request version {_short(version)} is not supported; "
                             f"this gateway speaks version {REQUEST_VERSION}", "v")


def parse_time(text: object, name: str) -> float:
    """An ISO 8601 time with a zone, between 2000 and 2100, as Unix seconds."""
    if not isinstance(text, str):
        raise CommandFailure(ErrorCode.BAD_FIELD, f"{name} must be an ISO 8601 UTC string", name)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandFailure(ErrorCode.BAD_FIELD, f"{name} is not an ISO 8601 time: {text[:40]!r}", name) from None
    if moment.tzinfo is None:
        raise CommandFailure(ErrorCode.BAD_FIELD, f"{name} needs a time zone (write Z for UTC)", name)
    try:
        ts = moment.astimezone(UTC).timestamp()
    except (OverflowError, ValueError, OSError):  # year 1 or 9999 with an offset leaves the calendar
        ts = math.nan
    if not plausible(ts):
        raise CommandFailure(ErrorCode.BAD_FIELD, f"{name} {text[:40]!r} is not between 2000 and 2100", name)
    return ts


def _sent_at(body: Mapping[str, Any], now: float, max_age: float, clock_synced: bool) -> float:
    if "sent_at" not in body:
        raise CommandFailure(ErrorCode.BAD_FIELD, "sent_at is missing", "sent_at")
    sent_at = parse_time(body["sent_at"], "sent_at")
    if not clock_synced:
        return sent_at  # the gateway's own clock cannot judge age yet
    age = now - sent_at
    if age > max_age:
        raise CommandFailure(ErrorCode.EXPIRED, f"request is {age:.0f} s old; at most {max_age:.0f} s accepted",
                             "sent_at")
    if age < -max_age:
        raise CommandFailure(ErrorCode.EXPIRED, f"request is dated {-age:.0f} s in the future", "sent_at")
    return sent_at


class _Args:
    """Typed access to the args object; every key must be read, none may be left over."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._read: set[str] = set()

    def _get(self, name: str, required: bool) -> Any:
        self._read.add(name)
        if name not in self._data or self._data[name] is None:
            if required:
                raise CommandFailure(ErrorCode.BAD_FIELD, f"args.{name} is missing", f"args.{name}")
            return None
        return self._data[name]

    def text(self, name: str, *, required: bool = True, max_len: int = 64) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise CommandFailure(ErrorCode.BAD_FIELD, f"args.{name} must be a non-empty string", f"args.{name}")
        if len(value) > max_len:
            raise CommandFailure(ErrorCode.OUT_OF_RANGE, f"args.{name} is longer than {max_len}", f"args.{name}")
        return value

    def integer(self, name: str, low: int, high: int, *, required: bool = True) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if type(value) is not int:
            raise CommandFailure(ErrorCode.BAD_FIELD, f"args.{name} must be an integer", f"args.{name}")
        return int(_in_range(name, value, low, high))

    def number(self, name: str, low: float, high: float, *, required: bool = True) -> float | None:
        value = self._get(name, required)
        if value is None:
            return None
        if type(value) not in (int, float) or (type(value) is float and not math.isfinite(value)):
            raise CommandFailure(ErrorCode.BAD_FIELD, f"args.{name} must be a number", f"args.{name}")
        return float(_in_range(name, value, low, high))  # in range first: an int of 400 digits has no float

    def done(self) -> None:
        extra = sorted(set(self._data) - self._read)
        if extra:
            raise CommandFailure(ErrorCode.BAD_FIELD, f"unexpected field args.{extra[0]}", f"args.{extra[0]}")


def _in_range(name: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise CommandFailure(ErrorCode.OUT_OF_RANGE, f"args.{name} = {_short(value)} is outside {low:g}-{high:g}",
                             f"args.{name}")
    return value


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _group(args: _Args, known: Known) -> str:
    group = args.text("group")
    assert group is not None
    if group not in known.groups:
        raise CommandFailure(ErrorCode.GROUP_UNKNOWN, f"no lighting group {group!r} on this gateway", "args.group")
    return group


def _ping(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    args.done()
    return {}


def _override(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    group = _group(args, known)
    level = args.integer("level", 0, 100)
    duration = args.number("duration_s", 1, MAX_OVERRIDE_S)
    args.done()
    return {"group": group, "level": level, "duration_s": duration}


def _clear_override(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    group = _group(args, known)
    args.done()
    return {"group": group}


def _read_device(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    device = args.text("device")
    if device not in known.devices:
        raise CommandFailure(ErrorCode.DEVICE_UNKNOWN, f"no device {device!r} on this gateway", "args.device")
    args.done()
    return {"device": device}


def _replay(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    first = args.integer("first", 1, 2**62)
    assert first is not None
    last = args.integer("last", first, 2**62)
    args.done()
    return {"first": first, "last": last, "max_records": replay_max}


def _config_push(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    text = args.text("config", max_len=MAX_CONFIG_BYTES)
    args.done()
    return {"config": text}


def _config_confirm(args: _Args, known: Known, replay_max: int) -> dict[str, Any]:
    request = args.text("request")
    sha256 = args.text("config_sha256", max_len=64)
    args.done()
    if request is None or not _ID.match(request):
        raise CommandFailure(ErrorCode.BAD_FIELD, "args.request must be the id of the config_push request",
                             "args.request")
    if sha256 is None or not _SHA256.match(sha256):
        raise CommandFailure(ErrorCode.BAD_FIELD, "args.config_sha256 must be 64 lowercase hex digits",
                             "args.config_sha256")
    return {"request": request, "config_sha256": sha256}


_VALIDATORS = {
    "ping": _ping,
    "override": _override,
    "clear_override": _clear_override,
    "read_device": _read_device,
    "replay": _replay,
    "config_push": _config_push,
    "config_confirm": _config_confirm,
}
COMMANDS = tuple(sorted(_VALIDATORS))
