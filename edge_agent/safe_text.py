"""Text from outside made safe to keep, log and send: what cannot be encoded as UTF-8 is replaced. Pure.

A JSON document may carry a lone UTF-16 surrogate (``"\\ud800"``); Python keeps it in a ``str``, and every later
``.encode()`` of that string fails. Such text is cleaned where it enters the agent, so that no record, answer or
error message built from it can fail to be sent later.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"
_MAX_DEPTH = 64  # deeper structures are not walked (parsers already refuse them); their text is replaced whole


def safe_text(text: str) -> str:
    """``text`` as is when it encodes as UTF-8; otherwise with each lone surrogate replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16 so that a surrogate pair written as two escapes becomes its one character again.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def safe_data(value: Any, _depth: int = 0) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with every string and key made safe."""
    if isinstance(value, str):
        return safe_text(value)
    if _depth >= _MAX_DEPTH and isinstance(value, dict | list | tuple):
        return REPLACEMENT
    if isinstance(value, dict):
        return {safe_data(key, _depth + 1): safe_data(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [safe_data(item, _depth + 1) for item in value]
    return value


def encodable(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
