"""The site config: one TOML file describes one gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from edge_agent.config.base import Model
from edge_agent.config.devices import DeviceConfig
from edge_agent.config.store import StoreConfig
from edge_agent.config.upstream import UpstreamConfig


class SiteInfo(Model):
    """Where the gateway stands."""

    commune: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str = "Europe/Paris"
    insee: str | None = Field(None, pattern=r"^[0-9AB]{5}$")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"'{value}' is not a known time zone; expected an IANA name such as Europe/Paris") from exc
        return value


class ClockConfig(Model):
    """How the agent decides whether the wall clock can be trusted."""

    source: Literal["auto", "assume_synced"] = "auto"
    not_before: str = Field("2025-01-01", pattern=r"^\d{4}-\d{2}-\d{2}$")


class ControlConfig(Model):
    """The local control socket the technician's CLI talks to."""

    socket: Path = Path("/run/edge-agent/control.sock")
    group: str | None = None


class SiteConfig(Model):
    """One gateway: who it is, where it sends, what it stores, what it talks to."""

    gateway_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    site: SiteInfo
    upstream: UpstreamConfig = UpstreamConfig()
    store: StoreConfig = StoreConfig()
    clock: ClockConfig = ClockConfig()
    control: ControlConfig = ControlConfig()
    devices: list[DeviceConfig] = []

    @model_validator(mode="after")
    def _unique_device_names(self) -> SiteConfig:
        seen: set[str] = set()
        for device in self.devices:
            if device.name in seen:
                raise ValueError(f"device name '{device.name}' is used twice; each device needs its own name")
            seen.add(device.name)
        return self

    def device(self, name: str) -> DeviceConfig:
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    @property
    def client_id(self) -> str:
        return self.upstream.client_id or f"edge-agent-{self.gateway_id}"
