"""The daily ``reports`` message: which day is due, and what the message says about it.

The report of day D holds the lighting energy of the night that starts on the evening of D (it ends at noon on
D+1), the bins and counts of D (midnight to midnight), and the bins to collect on D+2, predicted from every
reading up to the moment the report is made. It is due at ``reports.daily_at`` (12:30 by default) on D+1, once
that night has ended. A day missed while the agent was stopped is made when it starts again, up to
``reports.catch_up_days`` back from the last report made (a gateway that never made one starts with the last day
due).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.config.site import SiteConfig
from edge_agent.reports import encode, energy, fiware, mobility, period, waste
from edge_agent.reports.due import KIND, days_due, due_day, message, reported_day
from edge_agent.reports.inputs import Source, read

__all__ = ["KIND", "compose", "days_due", "due_day", "message", "reported_day"]  # when it is due: due.py


def compose(config: SiteConfig, source: Source, day: date, made_at: float) -> dict[str, Any] | None:
    """The message's ``data`` for ``day``, read from ``source``; None when history holds nothing of that day."""
    zone = ZoneInfo(config.site.timezone)
    nights, days = [period.night(day, zone)], [period.day(day, zone)]
    energy_in = energy.gather(source, config, nights)
    waste_in = read(source, *waste.read_span(days[0].start, made_at), waste.selection())
    mobility_in = read(source, *mobility.read_span(days), mobility.selection())
    lit = energy.report(config, energy_in, nights)
    bins = waste.report(config, waste_in, days[0].start, days[0].end, as_of=made_at)
    counts = mobility.report(config, mobility_in, days)
    held = [any(m.coverage for m in lit.meters), any(b.readings for b in bins.bins),
            any(c.total or c.occupied_known_h for c in counts.counters),
            any(days[0].start <= e.ts < nights[0].end for e in energy_in.events)]
    if not any(held):
        return None
    energy_part = encode.energy_json(lit)
    return {
        "day": day.isoformat(), "night": day.isoformat(), "commune": config.site.commune,
        "timezone": config.site.timezone, "made_at": period.iso_local(made_at, zone),
        "energy": {key: energy_part[key] for key in ("tariff_eur_per_kwh", "co2_kg_per_kwh", "co2_source", "left_out")}
        | {"groups": [{"group": g["group"], "category": g["category"], **g["nights"][0]}
                      for g in energy_part["groups"]]},
        "waste": {key: value for key, value in encode.waste_json(bins, series=False).items()
                  if key not in ("report", "commune", "timezone")},
        "mobility": {key: value for key, value in encode.mobility_json(counts).items()
                     if key not in ("report", "commune", "timezone")},
        "fiware": _fiware(config, fiware.entities(config, lit, bins, counts)),
    }


def _fiware(config: SiteConfig, entities: list[dict[str, Any]]) -> dict[str, Any]:
    return {"@context": fiware.context(config, entities), "entities": entities}
