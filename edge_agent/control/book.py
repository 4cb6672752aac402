"""What the agent last heard from each device, fed by the committer: the live side of ``status``.

The book holds the last value of every point of every device of the site: at a commune's 500 LoRaWAN nodes, each
decoding a dozen or more points, that is about 9,000 values for the daemon's whole life. Held as the readings
themselves in a dictionary per device, they took 2,472 bytes a device of sixteen points (the dictionary, a named
tuple per point); they are packed instead:

- the names of a device's points, in the order they were first heard, are a ``Layout`` shared by every device whose
  points came in the same order (the devices of one profile or codec), with the index of each name;
- a device keeps its layout and one flat list of four cells a point: the value, its time, its unit, its quality.

921 bytes a device of sixteen points (``tests/control/test_book.py``). A device that brings a point its layout
lacks moves to the layout with that point added, shared in turn; layouts no device uses any more are forgotten.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from edge_agent.reading import Event, Reading, Record

MAX_UNKNOWN_DEVICES = 256  # devices not in the config (should not happen) are tracked up to this many
_CELLS = 4  # a point's cells in ``DeviceSeen.cells``: value, ts, unit, quality


class Layout:
    """The names of a device's points in the order first heard, and where each one's cells begin."""

    __slots__ = ("__weakref__", "points", "slots")

    def __init__(self, points: tuple[str, ...]) -> None:
        self.points = points
        self.slots = {point: i * _CELLS for i, point in enumerate(points)}


class Layouts:
    """The layouts in use, one per order of point names: devices that hear the same points share one."""

    def __init__(self) -> None:
        self._in_use: weakref.WeakValueDictionary[tuple[str, ...], Layout] = weakref.WeakValueDictionary()
        self.empty = self.get(())

    def get(self, points: tuple[str, ...]) -> Layout:
        layout = self._in_use.get(points)
        if layout is None:
            layout = self._in_use[points] = Layout(points)
        return layout

    def __len__(self) -> int:
        return len(self._in_use)


class DeviceSeen:
    """One device's last-seen time, events, and the last value of each point (``values``)."""

    __slots__ = ("cells", "events", "last_event", "last_seen", "layout")

    def __init__(self, layout: Layout) -> None:
        self.last_seen: float | None = None
        self.events = 0
        self.last_event: str | None = None
        self.layout = layout
        self.cells: list[Any] = []

    @property
    def values(self) -> dict[str, dict[str, Any]]:
        """The last value of each point, as the control socket shows it (built when asked, not at every commit)."""
        return {point: self._shown(i) for point, i in self.layout.slots.items()}

    def value(self, point: str) -> dict[str, Any] | None:
        """The last value of ``point`` as ``values`` shows it; None if never heard."""
        i = self.layout.slots.get(point)
        return None if i is None else self._shown(i)

    def _shown(self, i: int) -> dict[str, Any]:
        value, ts, unit, quality = self.cells[i:i + _CELLS]
        return {"value": value, "unit": unit, "quality": quality.label, "ts": ts}


class DeviceBook:
    """Last values and last-seen time per device; bounded by the site's devices."""

    def __init__(self, known: Sequence[str]) -> None:
        self._known = set(known)
        self._layouts = Layouts()
        self._devices: dict[str, DeviceSeen] = {name: DeviceSeen(self._layouts.empty) for name in known}

    def on_committed(self, records: Sequence[Record], seqs: Sequence[int]) -> None:
        device: str | None = None
        seen: DeviceSeen | None = None
        slots: dict[str, int] = {}
        cells: list[Any] = []
        new: dict[str, Reading] = {}  # points the device's layout lacks, kept until its records end
        for record in records:
            if record.device is None:
                continue
            if record.device != device:  # a poll's readings come together: one look-up for them all
                if new and seen is not None:
                    self._grow(seen, new)
                device = record.device
                seen = self._entry(device)
                if seen is not None:
                    slots, cells = seen.layout.slots, seen.cells
            if seen is None:
                continue
            if type(record) is Reading:
                if seen.last_seen is None or record.ts > seen.last_seen:
                    seen.last_seen = record.ts
                i = slots.get(record.point)
                if i is None:
                    new[record.point] = record
                else:
                    cells[i] = record.value
                    cells[i + 1] = record.ts
                    cells[i + 2] = record.unit
                    cells[i + 3] = record.quality
            elif type(record) is Event:
                seen.events += 1
                seen.last_event = record.kind
        if new and seen is not None:
            self._grow(seen, new)

    def _grow(self, seen: DeviceSeen, new: dict[str, Reading]) -> None:
        """Move ``seen`` to the layout with the ``new`` points added (in the order first heard), their cells after."""
        seen.layout = self._layouts.get(seen.layout.points + tuple(new))
        for r in new.values():
            seen.cells += (r.value, r.ts, r.unit, r.quality)
        new.clear()

    def _entry(self, device: str) -> DeviceSeen | None:
        seen = self._devices.get(device)
        if seen is None and len(self._devices) < len(self._known) + MAX_UNKNOWN_DEVICES:
            seen = self._devices[device] = DeviceSeen(self._layouts.empty)
        return seen

    def get(self, device: str) -> DeviceSeen:
        return self._devices.get(device) or DeviceSeen(self._layouts.empty)

    def layouts(self) -> int:
        """How many layouts the devices share (for the tests: one per order of point names heard)."""
        return len(self._layouts)
