"""Sun times of one night at one place (astral 3.2), as UTC instants.

A night runs from local noon of its evening date to local noon of the next day: its sunset and civil dusk fall
on the evening date, its sunrise and civil dawn on the morning date, whatever the clock says in between.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import dawn, dusk, sunrise, sunset

from edge_agent.errors import EdgeAgentError
from edge_agent.frozen import frozen


class SunError(EdgeAgentError):
    """The sun does not rise or set on that date at that place (polar day or night)."""


@frozen(slots=True)
class NightSun:
    """Sun events bounding one night, in Unix seconds (UTC)."""

    sunset: float
    civil_dusk: float
    civil_dawn: float
    sunrise: float

    def event(self, name: str) -> float:
        value: float = getattr(self, name)
        return value


@lru_cache(maxsize=4096)
def night_sun(latitude: float, longitude: float, timezone: str, evening: date) -> NightSun:
    """Sunset and civil dusk of ``evening``, civil dawn and sunrise of the next morning."""
    observer = Observer(latitude=latitude, longitude=longitude)
    zone = ZoneInfo(timezone)
    morning = evening + timedelta(days=1)
    try:
        return NightSun(
            sunset=sunset(observer, evening, tzinfo=zone).timestamp(),
            civil_dusk=dusk(observer, evening, tzinfo=zone).timestamp(),
            civil_dawn=dawn(observer, morning, tzinfo=zone).timestamp(),
            sunrise=sunrise(observer, morning, tzinfo=zone).timestamp(),
        )
    except ValueError as exc:
        raise SunError(f"no sunset or sunrise at {latitude}, {longitude} on the night of {evening}: {exc}") from exc


def night_of(ts: float, timezone: str) -> date:
    """The evening date of the night (noon to noon, local time) that holds instant ``ts``."""
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone))
    return local.date() if local.hour >= 12 else local.date() - timedelta(days=1)


def is_dark(ts: float, latitude: float, longitude: float, timezone: str) -> bool:
    """True between sunset and sunrise."""
    sun = night_sun(latitude, longitude, timezone, night_of(ts, timezone))
    return sun.sunset <= ts < sun.sunrise
