"""Logging, configured in one place: one structured event per line, secrets scrubbed.

``log = get_logger(__name__)`` then ``log.info("event_name", key=value)``: an event name and its fields, nothing
else. ``setup_logging`` picks the lines' shape: JSON for the journal, or one plain line for a person::

    {"device": "meter", "event": "poll_failed", "level": "warning", "timestamp": "2026-11-30T02:19:07.803876Z"}
    2026-11-30T02:19:07.803876Z [warning  ] poll_failed                    device=meter

Small and ours on purpose: the daemon's logs needed a few hundred lines, not a logging framework (structlog cost
the daemon 2 MB, and rich whenever it was installed). Other libraries' records (stdlib ``logging``) go to stderr
as their message alone, as before. ``capture_logs`` is for tests: the events as dicts, nothing written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from io import StringIO
from types import TracebackType
from typing import Any, TextIO

_SECRET_KEYS = {"password", "passwd", "secret", "token", "api_token", "credentials", "key_data"}

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50
_LEVEL_NAMES = {DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error", CRITICAL: "critical"}
_PAD_LEVEL = len("exception")
_PAD_EVENT = 30

EventDict = MutableMapping[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
# What becomes of an event that passed the level: (its level's name, the event with its fields).
Handler = Callable[[str, EventDict], None]


def _scrub(event: EventDict) -> None:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "***"


def _exc_info_of(value: Any) -> ExcInfo | None:
    """An exception, an ``exc_info`` tuple, or a true value for the exception being handled (None when there is
    none)."""
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], type)
            and issubclass(value[0], BaseException) and isinstance(value[1], BaseException)
            and (value[2] is None or isinstance(value[2], TracebackType))):
        return value
    if value:
        current = sys.exc_info()
        return None if current[0] is None else current
    return None


def _format_exception(exc_info: ExcInfo) -> str:
    """The traceback as the interpreter prints it, without the last newline."""
    out = StringIO()
    traceback.print_exception(exc_info[0], exc_info[1], exc_info[2], None, out)
    return out.getvalue().removesuffix("\n")


def _exception_fields(event: EventDict) -> None:
    """JSON only: ``exc_type``, ``exc_message`` and the traceback as ``exception``, in place of ``exc_info``."""
    exc_info = _exc_info_of(event.pop("exc_info", None))
    if exc_info is not None:
        event["exc_type"] = exc_info[0].__name__
        event["exc_message"] = str(exc_info[1])
        event["exception"] = _format_exception(exc_info)


def _json_default(value: Any) -> str:
    return repr(value)


def render_json(event: EventDict) -> str:
    return json.dumps(event, default=_json_default)


def _console_value(value: Any) -> str:
    """A field's value: a word as it is, text with spaces, quotes or ``=`` quoted, anything else as its repr."""
    if isinstance(value, str):
        return repr(value) if set(value) & {" ", "\t", "=", "\r", "\n", '"', "'"} else value
    return repr(value)


def render_console(event: EventDict) -> str:
    """``TIMESTAMP [level    ] event                          key=value ...`` (keys sorted), then the traceback."""
    exc_info = _exc_info_of(event.pop("exc_info", None))
    exception = event.pop("exception", None)
    head = [str(event.pop("timestamp", "")), f"[{event.pop('level', '')!s:<{_PAD_LEVEL}}]",
            f"{event.pop('event', '')!s:<{_PAD_EVENT}}"]
    fields = [f"{key}={_console_value(event[key])}" for key in sorted(event)]
    line = " ".join(part for part in head + fields if part).rstrip(" ")
    if exc_info is not None:
        line += "\n" + _format_exception(exc_info)
    elif exception is not None:
        line += "\n" + str(exception)
    return line


class _Writer:
    """Renders each event to one line on a stream (stderr, as set up), scrubbed, stamped, whole lines only."""

    def __init__(self, stream: TextIO | None, use_json: bool) -> None:
        self._stream = stream
        self.json = use_json
        self._lock = threading.Lock()

    def __call__(self, level: str, event: EventDict) -> None:
        event["level"] = level
        event["timestamp"] = datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")
        if self.json:
            _exception_fields(event)
        _scrub(event)
        line = (render_json if self.json else render_console)(event) + "\n"
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()


class _Config:
    """What every logger does now: the lowest level written and the handler (read at each call, so a module's
    logger made at import follows ``setup_logging`` done later)."""

    level = DEBUG
    handler: Handler = _Writer(None, use_json=False)  # before setup: every event, one plain line on stdout


class Logger:
    """``log.info("event", key=value)``; ``debug``, ``warning``, ``error``, ``critical`` alike; ``exception`` is
    ``error`` with the exception being handled; ``bind(key=value)`` a logger that adds those fields to each event.
    Extra positional arguments are %-interpolated into the event name, as stdlib logging does."""

    __slots__ = ("_context", "name")

    def __init__(self, name: str | None = None, context: dict[str, Any] | None = None) -> None:
        self.name = name
        self._context = context or {}

    def bind(self, **fields: Any) -> Logger:
        return Logger(self.name, {**self._context, **fields})

    def _emit(self, level: int, event: str, args: tuple[Any, ...], fields: dict[str, Any]) -> None:
        if level < _Config.level:
            return
        entry: EventDict = {**self._context, **fields} if self._context else fields
        entry["event"] = event % args if args else event
        _Config.handler(_LEVEL_NAMES[level], entry)

    def debug(self, event: str, *args: Any, **fields: Any) -> None:
        self._emit(DEBUG, event, args, fields)

    def info(self, event: str, *args: Any, **fields: Any) -> None:
        self._emit(INFO, event, args, fields)

    msg = info

    def warning(self, event: str, *args: Any, **fields: Any) -> None:
        self._emit(WARNING, event, args, fields)

    warn = warning

    def error(self, event: str, *args: Any, **fields: Any) -> None:
        self._emit(ERROR, event, args, fields)

    def exception(self, event: str, *args: Any, **fields: Any) -> None:
        fields.setdefault("exc_info", True)
        self._emit(ERROR, event, args, fields)

    def critical(self, event: str, *args: Any, **fields: Any) -> None:
        self._emit(CRITICAL, event, args, fields)

    def log(self, level: int, event: str, *args: Any, **fields: Any) -> None:
        self._emit(level, event, args, fields)


def get_logger(name: str | None = None) -> Logger:
    return Logger(name)


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    return number


def setup_logging(fmt: str = "auto", level: str = "INFO") -> None:
    """``json`` for the journal, ``console`` for a person, ``auto`` picks by whether stderr is a terminal.

    In JSON, a logged exception carries its type, its message and its traceback (the console line is followed by
    the traceback itself)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    _Config.level = _level_number(level)
    _Config.handler = _Writer(sys.stderr, use_json)


def format_in_use() -> str:
    """The format of the lines written now, ``json`` or ``console``: a process the daemon starts writes its own
    lines to the same stderr, in the same format."""
    handler = _Config.handler
    return "json" if isinstance(handler, _Writer) and handler.json else "console"


def set_level(level: str | int) -> None:
    """Write only the events at ``level`` or above from now on (the lines' shape unchanged)."""
    _Config.level = _level_number(level)


def _drop(level: str, event: EventDict) -> None:
    return None


def silence() -> None:
    """Drop every event from now on (``capture_logs`` still sees them)."""
    _Config.handler = _drop


@contextlib.contextmanager
def capture_logs() -> Iterator[list[EventDict]]:
    """For tests: the events logged inside the block, each a dict of its fields, ``event`` and ``log_level``
    (``exc_info`` as given); nothing is written meanwhile."""
    captured: list[EventDict] = []

    def keep(level: str, event: EventDict) -> None:
        event["log_level"] = level
        captured.append(event)

    before = _Config.handler
    _Config.handler = keep
    try:
        yield captured
    finally:
        _Config.handler = before
