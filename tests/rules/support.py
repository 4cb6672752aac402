"""Test doubles for the rules engine, and site configs built in code.

The sink and the action port are fakes: the real ones are the SQLite store (tested on its own) and the
Modbus/LoRaWAN drivers, which the lead wires in an end-to-end test with a real Modbus server. Here they only
record what the engine hands them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_agent.clock import FakeClock
from edge_agent.config.site import SiteConfig
from edge_agent.reading import Event, Record
from edge_agent.rules.actions import ActionOutcome
from edge_agent.rules.engine import RulesEngine
from edge_agent.services import ServiceContext

ESTERNAY: dict[str, Any] = {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603, "timezone": "Europe/Paris"}
BELLEVILLE: dict[str, Any] = {
    "commune": "Belleville-sur-Meuse", "latitude": 49.1769, "longitude": 5.3811, "timezone": "Europe/Paris",
}


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def submit(self, records: Sequence[Record]) -> list[int]:
        start = len(self.records)
        self.records.extend(records)
        return list(range(start, len(self.records)))

    def events(self, kind: str) -> list[Event]:
        return [r for r in self.records if isinstance(r, Event) and r.kind == kind]


class RecordingPort:
    """Remembers every write, and the level each actuator is at; fails the next ``fail`` writes."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str, str | None, int]] = []
        self.levels: dict[tuple[str, str | None], int] = {}
        self.fail = 0
        self.clock: FakeClock | None = None

    async def set_level(self, device: str, point: str | None, level: int) -> ActionOutcome:
        if self.fail:
            self.fail -= 1
            return ActionOutcome(ok=False, error="Modbus exception 4 (slave device failure)")
        self.writes.append((self.clock.now() if self.clock else 0.0, device, point, level))
        self.levels[(device, point)] = level
        return ActionOutcome(ok=True, read_back=level)


def site(place: dict[str, Any], lighting: dict[str, Any], alarms: list[dict[str, Any]] | None = None,
         devices: list[dict[str, Any]] | None = None) -> SiteConfig:
    return SiteConfig.model_validate(
        {"gateway_id": "gw", "site": place, "lighting": lighting, "alarms": alarms or [], "devices": devices or []}
    )


def one_group(program: dict[str, Any], *, calendar: dict[str, Any] | None = None, safe_level: int = 100,
              category: str = "road") -> dict[str, Any]:
    """A lighting section with one program, one calendar and one group 'rue' of a cabinet circuit and a node."""
    return {
        "safe_level": safe_level,
        "programs": [program],
        "calendars": [calendar or {"name": "cal", "rules": [{"program": program["name"]}]}],
        "groups": [{
            "name": "rue", "category": category, "calendar": (calendar or {"name": "cal"})["name"],
            "members": [{"device": "cabinet", "point": "circuit1_level"}, {"device": "node-1"}],
        }],
    }


CUTOFF = {"name": "cutoff", "periods": [
    {"start": "sunset", "end": "23:00", "level": 100},
    {"start": "05:00", "end": "sunrise", "level": 100},
]}
DIMMED = {"name": "dimmed", "periods": [
    {"start": "sunset", "end": "sunrise", "level": 100},
    {"start": "22:00", "end": "05:00", "level": 40},
]}


def engine(config: SiteConfig, clock: FakeClock,
           overrides_path: Path | None = None) -> tuple[RulesEngine, ListSink, RecordingPort]:
    sink, port = ListSink(), RecordingPort()
    port.clock = clock
    return RulesEngine(ServiceContext(config, sink, clock), port, overrides_path=overrides_path), sink, port
