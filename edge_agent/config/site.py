"""The site config: one TOML file describes one gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.catalog import DEFAULT_SITE_DIR
from edge_agent.config.base import Field, Model, ValidationInfo, field_validator
from edge_agent.config.devices import DeviceConfig
from edge_agent.config.store import StoreConfig
from edge_agent.config.upstream import UpstreamConfig
from edge_agent.config.web import WebConfig
from edge_agent.lorawan.config import ChirpstackConfig
from edge_agent.modbus.config import ModbusConfig, ModbusDeviceConfig, check_devices
from edge_agent.reports.config import ReportsConfig
from edge_agent.rules.config import AlarmRule, LightingConfig


class SiteInfo(Model):
    """Where the gateway stands."""

    commune: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str = "Europe/Paris"
    insee: str | None = Field(None, pattern=r"^[0-9AB]{5}$")
    language: Literal["fr", "en"] = Field("fr", description="the language of what the commune's people read: the"
                                          " installer's page (until they switch) and the reports' tables and charts")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Europe" is a folder of zones
            raise ValueError(f"'{value[:60]}' is not a known time zone; expected an IANA name such as Europe/Paris") \
                from exc
        return value


class ClockConfig(Model):
    """How the agent decides whether the wall clock can be trusted."""

    source: Literal["auto", "assume_synced"] = "auto"
    not_before: str = Field("2025-01-01", pattern=r"^\d{4}-\d{2}-\d{2}$")


class ControlConfig(Model):
    """The local control socket the technician's CLI talks to."""

    socket: Path = Path("/run/edge-agent/control.sock")
    group: str | None = None
    idle_timeout: float = Field(30.0, gt=0, le=3600, description="a client that sends no request for this many"
                                " seconds is disconnected, so silent connections never lock technicians out")


class DriversConfig(Model):
    """Site driver directories: profiles and codecs an installer adds, searched in order before the bundled ones."""

    paths: list[Path] = Field(default_factory=lambda: [DEFAULT_SITE_DIR],
                              description="directories holding modbus/ and lorawan/ driver files")


class SiteConfig(Model):
    """One gateway: who it is, where it sends, what it stores, what it talks to."""

    gateway_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    site: SiteInfo
    upstream: UpstreamConfig = Field(default_factory=UpstreamConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    modbus: ModbusConfig = Field(default_factory=ModbusConfig)
    drivers: DriversConfig = Field(default_factory=DriversConfig)
    devices: list[DeviceConfig] = Field(default_factory=list)
    chirpstack: ChirpstackConfig | None = None
    lighting: LightingConfig = Field(default_factory=LightingConfig)
    alarms: list[AlarmRule] = Field(default_factory=list)
    web: WebConfig = Field(default_factory=WebConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @field_validator("devices")
    @classmethod
    def _devices_fit_together(cls, devices: list[DeviceConfig], info: ValidationInfo) -> list[DeviceConfig]:
        seen: set[str] = set()
        for device in devices:
            if device.name in seen:
                raise ValueError(f"device name '{device.name}' is used twice; each device needs its own name")
            seen.add(device.name)
        modbus = info.data.get("modbus")
        if modbus is not None:
            problems = check_devices(modbus, [d for d in devices if isinstance(d, ModbusDeviceConfig)])
            if problems:
                raise ValueError("; ".join(problems))
        return devices

    @field_validator("chirpstack")
    @classmethod
    def _distinct_client_ids(cls, chirpstack: ChirpstackConfig | None, info: ValidationInfo) -> ChirpstackConfig | None:
        upstream, gateway = info.data.get("upstream"), info.data.get("gateway_id")
        if chirpstack is None or upstream is None:
            return chirpstack
        upstream_id = upstream.client_id or f"edge-agent-{gateway}"
        if chirpstack.client_id == upstream_id:
            raise ValueError(
                f"client_id '{upstream_id}' is also the upstream client id: two connections with one id knock each"
                " other off a broker; give chirpstack.client_id its own value"
            )
        return chirpstack

    @field_validator("alarms")
    @classmethod
    def _unique_alarm_names(cls, alarms: list[AlarmRule]) -> list[AlarmRule]:
        names = [rule.name for rule in alarms]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"alarm rule names must be unique; used more than once: {', '.join(twice)}")
        return alarms

    def device(self, name: str) -> DeviceConfig:
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    @property
    def client_id(self) -> str:
        return self.upstream.client_id or f"edge-agent-{self.gateway_id}"
