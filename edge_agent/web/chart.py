"""A point's day as an SVG picture, drawn on the gateway: no chart library, no script. Pure.

Each bucket gives a mean (the line) and a min–max band; a missing bucket breaks the line, so a silent device
shows as a gap, not as a straight line across its silence. Times are the site's local time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 520, 250
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 18, 32

Bucket = Sequence[float]  # ts (bucket start), mean, low, high, count


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values spanning [low, high] for the y axis (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def hour_ticks(since: float, until: float, zone: ZoneInfo, every_h: int = 3) -> list[tuple[float, str]]:
    """Local hours divisible by ``every_h`` within [since, until], as (ts, 'HH:00')."""
    start = datetime.fromtimestamp(since, zone).replace(minute=0, second=0, microsecond=0)
    out, moment = [], start
    while moment.timestamp() <= until:
        if moment.timestamp() >= since and moment.hour % every_h == 0:
            out.append((moment.timestamp(), f"{moment:%H}:00"))
        moment = (moment + timedelta(hours=1)).astimezone(zone)  # whole hours, across DST changes
    return out


def tick_labels(ticks: Sequence[float], decimal_comma: bool) -> list[str]:
    """The axis values with the decimals their spacing needs, the same for all (3,26 3,28 3,30, not 3,3)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    texts = [f"{value:.{digits}f}" for value in ticks]
    return [text.replace(".", ",") for text in texts] if decimal_comma else texts


def render(buckets: Sequence[Bucket], *, since: float, until: float, step: float, timezone: str, unit: str | None,
           title: str, empty: str, decimal_comma: bool = False) -> str:
    """The SVG document (every text escaped)."""
    zone = ZoneInfo(timezone)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}"'
             f' height="{HEIGHT}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}"'
             ' font-family="sans-serif" font-size="17">',
             f"<title>{escape(title)}</title>",
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    if not buckets:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#555">{escape(empty)}</text>')
        return "".join(parts) + "</svg>"
    low = min(float(b[2]) for b in buckets)
    high = max(float(b[3]) for b in buckets)
    least = max(abs(high) * 0.02, 1e-6)  # a flat line sits mid-height, not on the frame
    if high - low < least:
        low, high = (low + high) / 2 - least / 2, (low + high) / 2 + least / 2
    ticks = nice_ticks(low, high)
    y_low, y_high = ticks[0], ticks[-1]

    def x(ts: float) -> float:
        return LEFT + (ts - since) / (until - since) * plot_w

    def y(value: float) -> float:
        return TOP + plot_h - (value - y_low) / (y_high - y_low) * plot_h

    for value, text in zip(ticks, tick_labels(ticks, decimal_comma), strict=True):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"'
                     ' stroke="#e3e3e3"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#444">'
                     f"{escape(text)}</text>")
    for ts, label in hour_ticks(since, until, zone):
        parts.append(f'<line x1="{x(ts):.1f}" x2="{x(ts):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{x(ts):.1f}" y="{HEIGHT - 10}" text-anchor="middle" fill="#444">{label}</text>')
    if unit:
        parts.append(f'<text x="6" y="{TOP + 10}" fill="#444">{escape(unit)}</text>')
    for run in _runs(buckets, step):
        middle = [(x(float(b[0]) + step / 2), float(b[1]), float(b[2]), float(b[3])) for b in run]
        if len(middle) == 1:
            px, mean, _, _ = middle[0]
            parts.append(f'<circle cx="{px:.1f}" cy="{y(mean):.1f}" r="2.5" fill="#1f5fa8"/>')
            continue
        band = [f"{px:.1f},{y(hi):.1f}" for px, _, _, hi in middle] + \
               [f"{px:.1f},{y(lo):.1f}" for px, _, lo, _ in reversed(middle)]
        parts.append(f'<polygon points="{" ".join(band)}" fill="#1f5fa8" fill-opacity="0.18" stroke="none"/>')
        line = " ".join(f"{px:.1f},{y(mean):.1f}" for px, mean, _, _ in middle)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    return "".join(parts) + "</svg>"


def _runs(buckets: Sequence[Bucket], step: float) -> list[list[Bucket]]:
    """Consecutive buckets together; a bucket missing between two starts a new run."""
    runs: list[list[Bucket]] = []
    for bucket in buckets:
        if runs and float(bucket[0]) - float(runs[-1][-1][0]) <= step * 1.5:
            runs[-1].append(bucket)
        else:
            runs.append([bucket])
    return runs
