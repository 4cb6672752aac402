"""What the agent last heard from each device, fed by the committer: the live side of ``status``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from edge_agent.reading import Event, Reading, Record

MAX_UNKNOWN_DEVICES = 256  # devices not in the config (should not happen) are tracked up to this many


@dataclass
class DeviceSeen:
    last_seen: float | None = None
    readings: dict[str, Reading] = field(default_factory=dict)  # the last of each point
    events: int = 0
    last_event: str | None = None

    @property
    def values(self) -> dict[str, dict[str, Any]]:
        """The last value of each point, as the control socket shows it (built when asked, not at every commit)."""
        return {point: {"value": r.value, "unit": r.unit, "quality": r.quality.label, "ts": r.ts}
                for point, r in self.readings.items()}


class DeviceBook:
    """Last values and last-seen time per device; bounded by the site's devices."""

    def __init__(self, known: Sequence[str]) -> None:
        self._known = set(known)
        self._devices: dict[str, DeviceSeen] = {name: DeviceSeen() for name in known}

    def on_committed(self, records: Sequence[Record], seqs: Sequence[int]) -> None:
        device: str | None = None
        seen: DeviceSeen | None = None
        for record in records:
            if record.device is None:
                continue
            if record.device != device:  # a poll's readings come together: one look-up for them all
                device = record.device
                seen = self._entry(device)
            if seen is None:
                continue
            if type(record) is Reading:
                if seen.last_seen is None or record.ts > seen.last_seen:
                    seen.last_seen = record.ts
                seen.readings[record.point] = record
            elif type(record) is Event:
                seen.events += 1
                seen.last_event = record.kind

    def _entry(self, device: str) -> DeviceSeen | None:
        seen = self._devices.get(device)
        if seen is None and len(self._devices) < len(self._known) + MAX_UNKNOWN_DEVICES:
            seen = self._devices[device] = DeviceSeen()
        return seen

    def get(self, device: str) -> DeviceSeen:
        return self._devices.get(device) or DeviceSeen()
