"""Small sites for the reports' tests, and records written into their real store as the agent writes them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Reading, Record
from edge_agent.store.store import Store

PARIS = ZoneInfo("Europe/Paris")
LATITUDE, LONGITUDE = 48.7328, 3.5603  # Esternay


def at(day: date, hh: int, mm: int = 0, *, fold: int = 0) -> float:
    """Local Paris time to Unix seconds; ``fold=1`` is the second 02:xx of the night the clocks go back."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=PARIS, fold=fold).timestamp()


SITE = """gateway_id = "gw-reports"

[site]
commune = "Esternay"
latitude = {latitude}
longitude = {longitude}
timezone = "Europe/Paris"

[store]
path = "{store}"

[clock]
source = "assume_synced"

[reports]
daily_at = "12:30"

[reports.energy]
tariff_eur_per_kwh = 0.20
meter_gap_s = 36000

[[devices]]
driver = "simulated"
name = "armoire"
points = [{{ name = "x" }}]

[[devices]]
driver = "simulated"
name = "compteur"
points = [{{ name = "import_active_energy", unit = "kWh", kind = "counter" }}]

[[devices]]
driver = "simulated"
name = "armoire-eglise"
points = [{{ name = "x" }}]

[[lighting.programs]]
name = "coupure"
periods = [{{ start = "sunset", end = "23:00", level = 100 }}, {{ start = "05:00", end = "sunrise", level = 100 }}]

[[lighting.programs]]
name = "abaissement"
periods = [{{ start = "sunset", end = "sunrise", level = 100 }}, {{ start = "22:00", end = "05:00", level = 50 }}]

[[lighting.programs]]
name = "eglise"
periods = [{{ start = "sunset", end = "00:30", level = 100 }}]

[[lighting.calendars]]
name = "voirie"
rules = [{{ weekdays = ["fri"], program = "abaissement" }}, {{ program = "coupure" }}]

[[lighting.calendars]]
name = "patrimoine"
rules = [{{ program = "eglise" }}]

[[lighting.groups]]
name = "rue"
calendar = "voirie"
power_w = 1000
meters = [{{ device = "compteur", point = "import_active_energy" }}]
members = [{{ device = "armoire", point = "circuit1_level" }}]

[[lighting.groups]]
name = "eglise"
category = "heritage"
calendar = "patrimoine"
power_w = 500
power_before_retrofit_w = 2000
members = [{{ device = "armoire-eglise", point = "circuit1_level" }}]
{extra}
"""


def write_site(folder: Path, extra: str = "") -> SiteConfig:
    path = folder / "site.toml"
    path.write_text(SITE.format(latitude=LATITUDE, longitude=LONGITUDE, store=folder / "store.db", extra=extra))
    return load_config(path).config


def set_level(ts: float, group: str, device: str, level: int, reason: str, *, ok: bool = True) -> Event:
    """What the rules engine records for one member's write."""
    return Event("lighting.set_level", ts, Priority.INFO, device, f"group {group}: {level} %",
                 {"group": group, "point": "circuit1_level", "level": level, "reason": reason, "attempt": 1,
                  "ok": ok, "read_back": None, "error": None})


def meter(ts: float, kwh: float) -> Reading:
    return Reading("compteur", "import_active_energy", kwh, ts, "kWh")


def commit(config: SiteConfig, records: list[Record]) -> None:
    """Into the site's store, in time order, as the agent commits."""
    store = Store.open(StoreConfig(path=config.store.path, synchronous="normal"))
    try:
        store.append(sorted(records, key=lambda record: record.ts))
    finally:
        store.close()
