"""Logging, configured in one place: one structured event per line, secrets scrubbed."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = {"password", "passwd", "secret", "token", "api_token", "credentials", "key_data"}


def _scrub(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "***"
    return event


def _exception_fields(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``exc_type`` and ``exc_message`` beside the traceback that ``format_exc_info`` writes as ``exception``."""
    exc_info = event.get("exc_info")
    if not exc_info:
        return event
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    elif not isinstance(exc_info, tuple):
        exc_info = sys.exc_info()
    if exc_info[0] is not None:
        event["exc_type"] = exc_info[0].__name__
        event["exc_message"] = str(exc_info[1])
        event["exc_info"] = exc_info  # resolved while the exception is being handled
    return event


def setup_logging(fmt: str = "auto", level: str = "INFO") -> None:
    """``json`` for the journal, ``console`` for a person, ``auto`` picks by whether stderr is a terminal.

    In JSON, a logged exception carries its type, its message and its traceback (the console renderer prints them
    itself)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False) if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    exceptions: list[Any] = [_exception_fields, structlog.processors.format_exc_info] if use_json else []
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *exceptions,
            _scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
