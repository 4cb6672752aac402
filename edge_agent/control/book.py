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
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: int = 0
    last_event: str | None = None


class DeviceBook:
    """Last values and last-seen time per device; bounded by the site's devices."""

    def __init__(self, known: Sequence[str]) -> None:
        self._known = set(known)
        self._devices: dict[str, DeviceSeen] = {name: DeviceSeen() for name in known}

    def on_committed(self, records: Sequence[Record], seqs: Sequence[int]) -> None:
        for record in records:
            if record.device is None:
                continue
            seen = self._entry(record.device)
            if seen is None:
                continue
            if isinstance(record, Reading):
                seen.last_seen = max(seen.last_seen or 0.0, record.ts)
                seen.values[record.point] = {"value": record.value, "unit": record.unit,
                                             "quality": record.quality.label, "ts": record.ts}
            elif isinstance(record, Event):
                seen.events += 1
                seen.last_event = record.kind

    def _entry(self, device: str) -> DeviceSeen | None:
        seen = self._devices.get(device)
        if seen is None and len(self._devices) < len(self._known) + MAX_UNKNOWN_DEVICES:
            seen = self._devices[device] = DeviceSeen()
        return seen

    def get(self, device: str) -> DeviceSeen:
        return self._devices.get(device) or DeviceSeen()
