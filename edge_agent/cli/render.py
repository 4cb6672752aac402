"""Text for an 80-column terminal: ages, sizes, tables that fit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

WIDTH = 80


def ago(ts: float | None, now: float | None = None) -> str:
    if ts is None:
        return "never"
    return f"{duration((now or time.time()) - ts)} ago"


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m{int(seconds % 60):02d}s"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


def clock(ts: float | None) -> str:
    """Local wall-clock time of a timestamp, to the second (the technician's own time)."""
    return _local("%H:%M:%S", ts)


def iso(ts: float | None) -> str:
    return _local("%Y-%m-%d %H:%M:%S", ts)


def _local(fmt: str, ts: float | None) -> str:
    if ts is None:
        return "-"
    try:
        return time.strftime(fmt, time.localtime(ts))
    except (OverflowError, OSError, ValueError):  # a time no calendar holds (kept from before it was checked)
        return f"?{str(ts)[:20]}"


def value(item: Any, digits: int = 6) -> str:
    """A value as a person reads it: on/off for booleans, ``digits`` significant digits for numbers."""
    if isinstance(item, bool):
        return "on" if item else "off"
    if isinstance(item, float):
        return f"{item:.{digits}g}"
    return str(item)


def fit(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = WIDTH) -> list[str]:
    """Columns as wide as their content; the last column takes what is left and is cut to fit."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = []
    for row in [list(headers), *[list(r) for r in rows]]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append(fit("  ".join([*cells, row[-1]]).rstrip(), width))
    return lines


def key_values(pairs: Sequence[tuple[str, str]], width: int = WIDTH) -> list[str]:
    pad = max(len(key) for key, _ in pairs)
    return [fit(f"{key.ljust(pad)}  {text}", width) for key, text in pairs]
