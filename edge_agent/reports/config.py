"""The ``[reports]`` section of the site config: prices, factors and thresholds the reports use.

The default emission factor is ADEME's per-use factor for electricity used for lighting, 0.069 kg CO2e/kWh
("Électricité - usage : Éclairage", method "moyenne mensualisée par usage" of the Base Carbone, now Base
Empreinte; the same figure the arrêté of 31 March 2021 on energy performance diagnoses lists for lighting).
ADEME calls its per-use factors indicative and stopped computing them after 2023: a commune that reports under
another convention (the average consumption mix of its greenhouse-gas balance) writes its own factor here.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated

from edge_agent.config.base import Field, Model, field_validator, model_validator

DEFAULT_CO2_KG_PER_KWH = 0.069
CO2_SOURCE = "ADEME Base Empreinte, Électricité - usage : Éclairage (moyenne mensualisée par usage)"

Percent = Annotated[float, Field(ge=0, le=100)]


class EnergySettings(Model):
    """What a kWh costs and emits, and when two meter readings are too far apart to trust what lies between."""

    tariff_eur_per_kwh: float | None = Field(None, ge=0, description="price of a kWh, taxes included; no cost without")
    co2_kg_per_kwh: float = Field(DEFAULT_CO2_KG_PER_KWH, ge=0, description="emission factor, kg CO2e per kWh")
    co2_source: str = CO2_SOURCE
    meter_gap_s: float = Field(3600.0, gt=0, description="readings further apart than this are reported as a gap")


class WasteSettings(Model):
    """When a bin counts as full, overflowing, or emptied."""

    collect_at: Percent = Field(80.0, description="fill level (%) from which a bin is to be collected")
    overflow_at: Percent = Field(95.0, description="fill level (%) from which a bin counts as overflowing")
    collection_drop: Percent = Field(30.0, description="a fall of at least this many points is a collection")

    @model_validator(mode="after")
    def _ordered(self) -> WasteSettings:
        if self.overflow_at < self.collect_at:
            raise ValueError("overflow_at must be at or above collect_at")
        if self.collection_drop <= 0:
            raise ValueError("collection_drop must be above 0")
        return self


class ReportsConfig(Model):
    """The reports: settings, and the daily ``reports`` message the agent sends upstream."""

    daily: bool = Field(True, description="send the daily reports message upstream")
    daily_at: time = Field(time(12, 30), description="local time the day's message is made (after the night's noon)")
    catch_up_days: int = Field(7, ge=0, le=60, description="days missed while the agent was stopped made up at start")
    energy: EnergySettings = Field(default_factory=EnergySettings)
    waste: WasteSettings = Field(default_factory=WasteSettings)

    @field_validator("daily_at", mode="before")
    @classmethod
    def _hhmm(cls, value: object) -> object:
        if isinstance(value, str):
            hour, _, minute = value.strip().partition(":")
            if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
                raise ValueError(f"'{value}' is not a time of day; write 'HH:MM'")
            return time(int(hour), int(minute))
        return value

    @field_validator("daily_at")
    @classmethod
    def _after_noon(cls, value: time) -> time:
        if value < time(12, 0):
            raise ValueError(f"daily_at {value:%H:%M} is before noon: the night it reports ends at noon;"
                             " write 12:00 or later")
        return value
