"""Issue 16's targets ("Fit a Raspberry Pi") against one run's figures: each target, the figure that judges it,
and whether it is met. Pure: it reads the scenarios' figures, it measures nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.commune import SD_PREFIX
from bench.cpu_floor import FLOOR
from bench.scenario import Result

WALL, PEAK = ": wall ms median", ": peak RSS MB"


@dataclass(frozen=True)
class Verdict:
    target: str
    shown: str
    met: bool | None  # None: the run did not measure it


def _figures(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Each scenario's figures by its number ("1" for "1 commune load")."""
    return {r.name.split()[0]: r.figures for r in results if not r.skipped}


def _lookup(results: list[Result]) -> Callable[[str, str], float | None]:
    by_scenario = _figures(results)

    def figure(scenario: str, key: str) -> float | None:
        value = by_scenario.get(scenario, {}).get(key)
        return float(value) if isinstance(value, (int, float)) else None

    return figure


def _at_most(target: str, value: float | None, limit: float, unit: str, *, strict: bool = False) -> Verdict:
    if value is None:
        return Verdict(target, "not measured", None)
    return Verdict(target, f"{value:,.1f} {unit}", value < limit if strict else value <= limit)


def verdicts(results: list[Result]) -> list[Verdict]:
    figure = _lookup(results)
    out = [_at_most("daemon resident memory at commune load <= 35 MB",
                    figure("6", "daemon RSS MB at commune load (end)"), 35.0, "MB"),
           _at_most("the same, its upstream link in mutual TLS (OpenSSL loaded) <= 35 MB",
                    figure("6", "daemon RSS MB at commune load, upstream over mutual TLS (end)"), 35.0, "MB")]
    names = [key[4:-len(WALL)] for key in _figures(results).get("6", {}) if key.startswith("CLI ")
             and key.endswith(WALL) and "first after" not in key]
    for name in names:
        wall, rss = figure("6", f"CLI {name}{WALL}"), figure("6", f"CLI {name}{PEAK}")
        target = f"`{name}` <= 250 ms and 30 MB"
        out.append(Verdict(target, "not measured", None) if wall is None or rss is None else
                   Verdict(target, f"{wall:,.0f} ms, {rss:.1f} MB", wall <= 250 and rss <= 30))
    if not names:
        out.append(Verdict("technician commands <= 250 ms and 30 MB", "not measured", None))
    out.append(_at_most("`run` -> READY <= 1 s", figure("6", "run -> READY s median"), 1.0, "s"))
    for mode in ("50 connections", "1 connection"):
        cpu, ratio = figure("5", f"{mode}: edge-agent CPU us per point"), figure(
            "5", f"{mode}: ratio CPU per point (ours/peer)")
        delivered = figure("5", f"{mode}: edge-agent delivered % of asked")
        if cpu is None or ratio is None or delivered is None:
            out.append(Verdict(f"CPU per point, {mode}", "not measured", None))
            continue
        floor = figure("7", FLOOR)
        below = "" if floor is None else f"; the design's floor {floor:,.1f} us"
        out.append(Verdict(f"CPU per point, {mode}: <= 15 us and <= 1/10 of the peer's, >= 99 % delivered",
                           f"{cpu:,.1f} us (peer ratio {ratio:.2f}), {delivered:.0f} % delivered{below}",
                           cpu <= 15 and ratio <= 0.1 and delivered >= 99))
    out.append(_bytes_per_reading(figure, "", "the default store: WAL, a commit every 1 s"))
    out.append(_bytes_per_reading(figure, SD_PREFIX, "the SD-card store: rollback journal, a commit every 10 s"))
    for prefix, store, interval in (("", "default store", 1.0), (SD_PREFIX, "SD-card store", 10.0)):
        out.append(_at_most(f"alarm from its reading (device answer -> subscriber), p99 < 250 ms ({store})",
                            figure("1", f"{prefix}alarm latency from the reading, p99 ms"), 250.0, "ms",
                            strict=True))
        limit = 1000 * interval + 250
        out.append(_at_most(f"readings, device answer -> subscriber, p99 <= commit_interval + 250 ms ({limit:,.0f} ms,"
                            f" {store})", figure("1", f"{prefix}latency p99 ms"), limit, "ms"))
    return out


def _bytes_per_reading(figure: Callable[[str, str], float | None], prefix: str, store: str) -> Verdict:
    """SD-card writes at commune load against the row's own size. Out of WAL there is no checkpoint: the commits'
    figure is the whole of it."""
    target = f"SQLite bytes written per reading <= 2x the row ({store})"
    commits = figure("1", f"{prefix}SQLite bytes written per reading")
    written = figure("1", f"{prefix}SQLite bytes written per reading, with the checkpoint of the window's WAL")
    row = figure("1", f"{prefix}row size in the store, bytes per reading")
    if commits is None or row is None:
        return Verdict(target, "not measured", None)
    total = commits if written is None else written
    return Verdict(target, f"{total:,.1f} B for a {row:.1f} B row: {total / row:.2f}x"
                   + ("" if written is None else f" (commits alone {commits / row:.2f}x)"), total <= 2 * row)


def render(found: list[Verdict]) -> str:
    lines = ['\n[targets of "Fit a Raspberry Pi"] this run\'s figures against the issue\'s limits']
    width = max(len(v.target) for v in found)
    for v in found:
        mark = "not measured" if v.met is None else "met" if v.met else "NOT MET"
        lines.append(f"  {v.target:<{width}}  {v.shown:>48}  {mark}")
    return "\n".join(lines)
