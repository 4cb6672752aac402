"""What the reports read from history, sorted out once: each point's time series and the events, in time order.

Readings whose quality is not good, and records made before the gateway's clock was synchronised (their time
cannot be trusted), are left out and counted; the reports say how many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from edge_agent.reading import Event, Quality, Value
from edge_agent.store.history import Sample, Selection
from edge_agent.store.rows import StoredRecord

Key = tuple[str, str]  # (device, point)


class Source(Protocol):
    """Where history comes from: the store file read-only (``HistoryReader``)."""

    def scan(self, since: float, until: float, selection: Selection) -> Iterable[Sample | StoredRecord]: ...


@dataclass
class Inputs:
    series: dict[Key, list[tuple[float, Value]]] = field(default_factory=dict)
    units: dict[Key, str | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    not_good: int = 0
    clock_unsynced: int = 0
    _numbers: dict[Key, list[tuple[float, float]]] = field(default_factory=dict, repr=False)

    def numbers(self, key: Key) -> list[tuple[float, float]]:
        """A point's numeric values (booleans as 0/1), in time order (made once, then shared: do not change it)."""
        found = self._numbers.get(key)
        if found is None:
            found = self._numbers[key] = [(ts, float(value)) for ts, value in self.series.get(key, ())
                                          if isinstance(value, int | float)]
        return found

    def points_of(self, device: str) -> list[str]:
        return sorted(point for name, point in self.series if name == device)

    @property
    def records(self) -> int:
        return sum(len(samples) for samples in self.series.values()) + len(self.events)


def read(source: Source, since: float, until: float, selection: Selection, *,
         events_since: float | None = None) -> Inputs:
    """The selection's good readings with a timestamp in [since, until), and its events in [events_since, until)
    (default: the same span)."""
    out = Inputs()
    if selection.points != ():
        _take(out, source.scan(since, until, replace(selection, events=())))
    if selection.events != ():
        _take(out, source.scan(since if events_since is None else events_since, until, replace(selection, points=())))
    for found in out.series.values():
        found.sort(key=lambda sample: sample[0])
    out.events.sort(key=lambda event: event.ts)
    return out


def _take(out: Inputs, items: Iterable[Sample | StoredRecord]) -> None:
    series, units, events = out.series, out.units, out.events
    good = int(Quality.GOOD)
    for item in items:
        if not isinstance(item, StoredRecord):  # a Sample (StoredRecord is a named tuple: tested first)
            ts, device, point, value, unit, quality, synced = item
            if not synced:
                out.clock_unsynced += 1
            elif quality != good or value is None:
                out.not_good += 1
            else:
                key = (device, point)
                found = series.get(key)
                if found is None:
                    found = series[key] = []
                    units[key] = unit
                found.append((ts, value))
        elif item.record.clock_synced and isinstance(item.record, Event):
            events.append(item.record)
        else:
            out.clock_unsynced += 1
