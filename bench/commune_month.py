"""A simulated month of a commune, written into a real store as the agent would have: the reports' test bed.

The commune (Esternay's layout): a lighting cabinet on three groups (two road circuits and the church) behind one
energy meter, three LED luminaires with their own energy counters, a dozen glass and paper bins, two pedestrian
counters, a vehicle counter giving a running total, and parking space sensors. The lighting follows the site's
programs as the rules engine would (its ``lighting.set_level`` events, one per member and change), and the month
holds what the reports must cope with: an override by the hypervisor, a meter reset, a vehicle counter reset,
a lamp failure, collections, and the change back to winter time. ``noise`` adds the cabinet's other points
(30 every 30 s, as a cabinet polled in the field sends), which the reports must skip.

Deterministic: a fixed seed. Used by tests/reports and bench/report_bench.py.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Reading, Record
from edge_agent.rules.programs import NightPlan, Place, night_plan
from edge_agent.store.store import Store

FIRST_EVENING = date(2026, 10, 1)
NIGHTS = 31
METER = "compteur-eclairage"
STANDBY_W = 15.0  # the cabinet controller itself, always on
BINS = [f"bac-{kind}-{n:02d}" for kind in ("verre", "papier") for n in range(1, 7)]
COUNTERS = ["compteur-place", "compteur-ecole"]
VEHICLES = "compteur-rd48"
PARKING = [f"place-{n}" for n in range(1, 7)]
RESET_EVENING = date(2026, 10, 14)  # the lighting meter is replaced in the middle of that night
OVERRIDE_EVENING = date(2026, 10, 9)  # the hypervisor holds the centre at 100 % for the village fête
LAMP_EVENING = date(2026, 10, 20)
ZONE = ZoneInfo("Europe/Paris")


def site_toml(store: Path) -> str:
    bins = "\n".join(
        f'[[devices]]\ndriver = "lorawan"\nname = "{name}"\ndev_eui = "a84041000181{index:04x}"\n'
        f'codec = "dragino_ldds75"\nuplink_interval = 3600\nbin = {{ d_empty_mm = 1850, d_full_mm = 300 }}\n'
        f"position = {{ latitude = {48.7300 + index * 0.0011:.4f}, longitude = {3.5550 + index * 0.0017:.4f} }}\n"
        for index, name in enumerate(BINS))
    counters = "\n".join(
        f'[[devices]]\ndriver = "lorawan"\nname = "{name}"\ndev_eui = "0004a30b00f2c6{index:02x}"\n'
        f'codec = "parametric_pcr2"\nuplink_interval = 600\n' for index, name in enumerate(COUNTERS))
    parking = "\n".join(
        f'[[devices]]\ndriver = "simulated"\nname = "{name}"\npoll_interval = 3600\n'
        f'points = [{{ name = "occupied", kind = "random" }}]\n' for name in PARKING)
    lums = "\n".join(
        f'[[devices]]\ndriver = "lorawan"\nname = "lum-grande-rue-{n:02d}"\ndev_eui = "70b3d5c1d0a001{n:02x}"\n'
        f'codec = "nas_ul20xx"\nuplink_interval = 900\n' for n in (1, 2, 3))
    return f'''gateway_id = "esternay-sim"

[site]
commune = "Esternay"
insee = "51237"
latitude = 48.7328
longitude = 3.5603
timezone = "Europe/Paris"

[store]
path = "{store}"
max_bytes = "2 GB"
retention_days = 60

[clock]
source = "assume_synced"

[reports]
daily_at = "12:30"

[reports.energy]
tariff_eur_per_kwh = 0.25

[[modbus.buses]]
name = "rs485"
port = "/dev/null"

[[devices]]
driver = "modbus"
name = "armoire-mairie"
profile = "streetlight_cabinet_4c"
bus = "rs485"
unit = 1
poll_interval = 30

[[devices]]
driver = "modbus"
name = "{METER}"
profile = "eastron_sdm120"
bus = "rs485"
unit = 2
poll_interval = 60

[[devices]]
driver = "modbus"
name = "{VEHICLES}"
profile = "traffic_counter"
bus = "rs485"
unit = 3
poll_interval = 300

{lums}
{bins}
{counters}
{parking}

[[lighting.programs]]
name = "coupure-23h-5h"
periods = [{{ start = "sunset", end = "23:00", level = 100 }}, {{ start = "05:00", end = "sunrise", level = 100 }}]

[[lighting.programs]]
name = "abaissement-50"
periods = [{{ start = "sunset", end = "sunrise", level = 100 }}, {{ start = "23:00", end = "05:00", level = 50 }}]

[[lighting.programs]]
name = "eglise"
periods = [{{ start = "sunset+15", end = "23:00", level = 80 }}]

[[lighting.calendars]]
name = "voirie"
rules = [{{ weekdays = ["fri", "sat"], program = "abaissement-50" }}, {{ program = "coupure-23h-5h" }}]

[[lighting.calendars]]
name = "patrimoine"
rules = [{{ program = "eglise" }}]

[[lighting.groups]]
name = "centre-bourg"
calendar = "voirie"
power_w = 2400
power_before_retrofit_w = 6800
meters = [{{ device = "{METER}", point = "import_active_energy" }}]
members = [
  {{ device = "armoire-mairie", point = "circuit1_level" }},
  {{ device = "armoire-mairie", point = "circuit2_level" }},
]

[[lighting.groups]]
name = "eglise"
category = "heritage"
calendar = "patrimoine"
power_w = 600
meters = [{{ device = "{METER}", point = "import_active_energy" }}]
members = [{{ device = "armoire-mairie", point = "circuit4_level" }}]

[[lighting.groups]]
name = "grande-rue"
calendar = "voirie"
power_w = 180
power_before_retrofit_w = 450
members = [{{ device = "lum-grande-rue-01" }}, {{ device = "lum-grande-rue-02" }}, {{ device = "lum-grande-rue-03" }}]

[[alarms]]
kind = "lamp_failure"
name = "armoire-panne"
device = "armoire-mairie"
command_point = "circuit1_level"
current_point = "mains_current"
current_below = 0.5
'''


@dataclass
class Month:
    config: SiteConfig
    site: Path
    store: Path
    records: int


def write_month(folder: Path, *, noise: bool = False, nights: int = NIGHTS) -> Month:
    """The site config and its store, filled with ``nights`` nights (and days) from FIRST_EVENING."""
    store_path = folder / "store.db"
    site = folder / "site.toml"
    site.write_text(site_toml(store_path))
    config = load_config(site).config
    store = Store.open(StoreConfig(path=store_path, max_bytes=2_000_000_000, synchronous="normal"))
    count = 0
    try:
        batch: list[Record] = []
        for record in _month(config, nights, noise):  # in time order, as the agent commits them
            batch.append(record)
            if len(batch) >= 20_000:
                store.append(batch)
                count += len(batch)
                batch = []
        store.append(batch)
        count += len(batch)
    finally:
        store.close()
    return Month(config, site, store_path, count)


def _ts(record: Record) -> float:
    return record.ts


def _month(config: SiteConfig, nights: int, noise: bool) -> Iterator[Record]:
    rng = random.Random(18)
    place = Place(config.site.latitude, config.site.longitude, config.site.timezone)
    plans = [{g.name: night_plan(config.lighting, g.name, FIRST_EVENING + timedelta(days=n), place)
              for g in config.lighting.groups} for n in range(-1, nights + 1)]
    start, end = plans[0]["centre-bourg"].start, plans[-1]["centre-bourg"].end  # noon before the month to noon after
    timeline = _Lights(config, plans)
    sources: list[Iterator[Record]] = [
        iter(sorted(timeline.events(), key=_ts)), _meter(timeline, start, end), _luminaires(timeline, start, end),
        *(_bin(rng, index, name, start, end) for index, name in enumerate(BINS)),
        *(_people(rng, scale, name, start, end) for scale, name in zip((1.0, 0.6), COUNTERS, strict=True)),
        _vehicles(rng, start, end), *(_parking(rng, name, start, end) for name in PARKING),
    ]
    if noise:
        sources.append(_noise(start, end))
    return heapq.merge(*sources, key=_ts)


def _noise(start: float, end: float) -> Iterator[Record]:
    for ts in _steps(start, end, 30.0):
        yield from (Reading("armoire-mairie", f"noise_{k}", 230.0 + k, ts, "V") for k in range(30))


def _steps(start: float, end: float, every: float) -> Iterator[float]:
    ts = math.ceil(start / every) * every
    while ts < end:
        yield ts
        ts += every


def _within(evening: date, plans: list[dict[str, NightPlan]]) -> bool:
    """Whether the month simulated holds that night (``plans`` has a night more at each end)."""
    return 0 <= (evening - FIRST_EVENING).days < len(plans) - 2


class _Lights:
    """The groups' levels over the month, as the rules engine ran them, and the events it recorded."""

    def __init__(self, config: SiteConfig, plans: list[dict[str, NightPlan]]) -> None:
        self.config = config
        self.changes: dict[str, list[tuple[float, int, str]]] = {}
        self._events: list[Record] = []
        for group in config.lighting.groups:
            steps: list[tuple[float, int, str]] = []
            for nightly in plans:
                plan = nightly[group.name]
                for step in plan.steps:
                    if not steps or steps[-1][1] != step.level:
                        steps.append((step.ts, step.level, f"program {plan.program}"))
            self.changes[group.name] = steps
        if _within(OVERRIDE_EVENING, plans):
            self._override(plans)
        for group in config.lighting.groups:
            for ts, level, reason in self.changes[group.name]:
                for member in group.members:
                    self._events.append(Event(
                        "lighting.set_level", ts, Priority.INFO, member.device, f"group {group.name}: {level} %",
                        {"group": group.name, "point": member.point, "level": level, "reason": reason,
                         "attempt": 1, "ok": True, "read_back": None, "error": None}))
        if _within(LAMP_EVENING, plans):
            lamp = plans[(LAMP_EVENING - FIRST_EVENING).days + 1]["centre-bourg"].sun.sunset + 1800
            self._events.append(Event("alarm.raised", lamp, Priority.ALARM, "armoire-mairie",
                                      "armoire-mairie.mains_current: current near zero while commanded on",
                                      {"rule": "armoire-panne", "point": "mains_current", "value": 0.1}))

    def _override(self, plans: list[dict[str, NightPlan]]) -> None:
        plan = plans[(OVERRIDE_EVENING - FIRST_EVENING).days + 1]["centre-bourg"]
        begin = plan.start + 11 * 3600  # 23:00 local (noon + 11 h)
        finish = begin + 7200
        self._events.append(Event("lighting.override", begin, Priority.INFO, None, "group centre-bourg: held",
                                  {"group": "centre-bourg", "level": 100, "duration_s": 7200.0,
                                   "source": "hypervisor"}))
        self._events.append(Event("lighting.override_expired", finish, Priority.INFO, None,
                                  "group centre-bourg: override expired", {"group": "centre-bourg"}))
        steps = self.changes["centre-bourg"]
        after = self.level_at("centre-bourg", finish)
        kept = [s for s in steps if not begin <= s[0] < finish]
        kept += [(begin, 100, "override"), (finish, after[0], after[1])]
        self.changes["centre-bourg"] = sorted(kept)

    def level_at(self, group: str, ts: float) -> tuple[int, str]:
        level, reason = 0, ""
        for when, new, why in self.changes[group]:
            if when > ts:
                break
            level, reason = new, why
        return level, reason

    def events(self) -> list[Record]:
        return self._events

    def power_w(self, group: str, ts: float) -> float:
        power = self.config.lighting.group(group).power_w or 0.0
        return power * self.level_at(group, ts)[0] / 100.0


def _meter(lights: _Lights, start: float, end: float) -> Iterator[Record]:
    """The cabinet meter (kWh), read every minute; it is replaced at 02:10 of the night of RESET_EVENING."""
    total = 48_210.0
    reset_at = None
    for ts in _steps(start, end, 60.0):
        total += (lights.power_w("centre-bourg", ts) + lights.power_w("eglise", ts) + STANDBY_W) / 60.0 / 1000.0
        if reset_at is None and ts >= _local_ts(RESET_EVENING + timedelta(days=1), 2, 10):
            reset_at = ts
            total = 0.0  # a new meter, counting from zero
        yield Reading(METER, "import_active_energy", round(total, 3), ts, "kWh")


def _local_ts(day: date, hour: int, minute: int) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).timestamp()


def _luminaires(lights: _Lights, start: float, end: float) -> Iterator[Record]:
    """Each luminaire's own energy counter (Wh), sent every 15 minutes."""
    totals = [150_000.0, 162_000.0, 171_500.0]
    for ts in _steps(start, end, 900.0):
        for index in range(3):
            totals[index] += lights.power_w("grande-rue", ts) / 3.0 * 0.25
            yield Reading(f"lum-grande-rue-{index + 1:02d}", "energy.dali_broadcast", round(totals[index]), ts, "Wh")


def _bin(rng: random.Random, index: int, name: str, start: float, end: float) -> Iterator[Record]:
    """Hourly fill levels; a bin fills at its own pace and is emptied on collection mornings when above 60 %."""
    fill = rng.uniform(5, 40)
    rate = (5.0 + 1.2 * index) / 24.0  # points an hour
    for ts in _steps(start, end, 3600.0):
        hour = _local_hour(ts)
        weekday = _local_weekday(ts)
        if weekday in (1, 4) and hour == 7 and fill > 60:  # Tuesday and Friday rounds
            fill = rng.uniform(2, 6)
        busy = 1.8 if weekday >= 5 else 1.0
        fill = min(100.0, fill + rate * busy * rng.uniform(0.6, 1.4))
        yield Reading(name, "fill_level", round(fill, 1), ts, "%")


def _local_hour(ts: float) -> int:
    return datetime.fromtimestamp(ts, ZONE).hour


def _local_weekday(ts: float) -> int:
    return datetime.fromtimestamp(ts, ZONE).weekday()


_PROFILE = [0, 0, 0, 0, 0, 1, 3, 9, 18, 8, 6, 8, 12, 9, 6, 6, 9, 13, 10, 6, 4, 2, 1, 0]  # passages an hour


def _people(rng: random.Random, scale: float, name: str, start: float, end: float) -> Iterator[Record]:
    """Pedestrians every 10 minutes in both directions."""
    for ts in _steps(start, end, 600.0):
        mean = _PROFILE[_local_hour(ts)] * scale / 6.0
        yield Reading(name, "count_left_to_right", _poisson(rng, mean), ts)
        yield Reading(name, "count_right_to_left", _poisson(rng, mean * 0.8), ts)


def _vehicles(rng: random.Random, start: float, end: float) -> Iterator[Record]:
    """Vehicles as a running total, every 5 minutes; the controller restarts once (the total starts again)."""
    total = 4_000_000
    for ts in _steps(start, end, 300.0):
        total += _poisson(rng, _PROFILE[_local_hour(ts)] * 4 / 12.0)
        if _local_ts(date(2026, 10, 22), 3, 0) <= ts < _local_ts(date(2026, 10, 22), 3, 5):
            total = 0  # the controller was restarted
        yield Reading(VEHICLES, "vehicles_total", total, ts)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _parking(rng: random.Random, name: str, start: float, end: float) -> Iterator[Record]:
    """A space taken and freed, busier by day; a report at each change and an hourly heartbeat."""
    ts, occupied = start, rng.random() < 0.5
    while ts < end:
        busy = 8 <= _local_hour(ts) < 19
        mean_h = (1.5 if busy else 6.0) if occupied else (0.5 if busy else 8.0)
        change = min(ts + max(rng.expovariate(1 / mean_h) * 3600, 120.0), end)
        beat = ts
        while beat < change:
            yield Reading(name, "occupied", occupied, beat)
            beat += 3600.0
        ts, occupied = change, not occupied
