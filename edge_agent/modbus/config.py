"""Site-config models of the Modbus side: devices (TCP or on an RTU bus) and the site's RTU buses."""

from __future__ import annotations

from typing import Literal

from edge_agent.config.base import Field, Model, Position, ValidationInfo, field_validator, model_validator

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class ModbusDeviceConfig(Model):
    """A Modbus device polled over TCP (``host``) or on one of the site's RTU buses (``bus``)."""

    driver: Literal["modbus"]
    name: str = Field(pattern=NAME_PATTERN)
    profile: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    unit: int = Field(1, ge=0, le=247, description="Modbus unit id (slave address)")
    host: str | None = None
    port: int = Field(502, ge=1, le=65535)
    bus: str | None = Field(None, description="name of an RTU bus of [modbus] buses")
    poll_interval: float = Field(10.0, gt=0)
    timeout: float | None = Field(None, gt=0, le=30, description="seconds; default: the bus's or 1 s over TCP")
    max_gap: int | None = Field(None, ge=0, le=124, description="registers of gap merged into one read")
    max_in_flight: int = Field(1, ge=1, le=16, description=(
        "Modbus TCP requests sent at once on the device's connection (pipelining); only for a device or gateway "
        "known to take several at a time, answering each with its own transaction id; devices sharing a "
        "connection use the smallest value among them"))
    position: Position | None = Field(None, description="where the device stands (used by the reports)")

    @model_validator(mode="after")
    def _one_transport(self) -> ModbusDeviceConfig:
        if (self.host is None) == (self.bus is None):
            raise ValueError("give either 'host' (Modbus TCP) or 'bus' (an RTU bus name), not both or neither")
        if self.bus is not None and self.max_in_flight > 1:
            raise ValueError("max_in_flight above 1 is for Modbus TCP devices only: an RTU bus carries one request "
                             "at a time")
        return self

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str, info: ValidationInfo) -> str:
        from edge_agent.catalog import catalog_for

        catalog = (info.context or {}).get("catalog") or catalog_for()
        known = catalog.names("modbus")
        if value not in known:
            where = ", ".join(str(p) for p in catalog.site_dirs) or "none"
            import difflib  # a wrong name only

            close = difflib.get_close_matches(value, known, n=1)
            if close:
                raise ValueError(f"unknown Modbus profile '{value}'; did you mean '{close[0]}'?")
            raise ValueError(f"unknown Modbus profile '{value}'; available: {', '.join(known)} (bundled, and in the"
                             f" site driver directories: {where}); fix the name or add <name>.toml to a site"
                             " directory's modbus/")
        return value


class RtuBusConfig(Model):
    """One RS-485 line behind a serial port (usually a USB adapter)."""

    name: str = Field(pattern=NAME_PATTERN)
    port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = Field(9600, ge=300, le=1_000_000)
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    timeout: float = Field(1.0, gt=0, le=30, description="default reply timeout of devices on this bus, s")
    adapter_latency: float = Field(0.016, ge=0, le=1, description="USB adapter latency added to timeouts, s")


class BackoffConfig(Model):
    """How a failing device is skipped: first wait, growth cap, failures before it is reported offline."""

    initial: float = Field(5.0, gt=0)
    maximum: float = Field(300.0, gt=0)
    offline_after: int = Field(3, ge=1)


class ModbusConfig(Model):
    """Site-level Modbus settings: the RTU buses and the defaults of every device."""

    buses: list[RtuBusConfig] = Field(default_factory=list)
    max_gap: int = Field(10, ge=0, le=124)
    tcp_timeout: float = Field(1.0, gt=0, le=30)
    backoff: BackoffConfig = Field(default_factory=BackoffConfig)

    @model_validator(mode="after")
    def _unique_buses(self) -> ModbusConfig:
        names = [bus.name for bus in self.buses]
        ports = [bus.port for bus in self.buses]
        if len(set(names)) != len(names):
            raise ValueError("two RTU buses have the same name")
        if len(set(ports)) != len(ports):
            raise ValueError("two RTU buses use the same serial port; put their devices on one bus")
        return self

    def bus(self, name: str) -> RtuBusConfig:
        for bus in self.buses:
            if bus.name == name:
                return bus
        raise KeyError(name)


def check_devices(modbus: ModbusConfig, devices: list[ModbusDeviceConfig]) -> list[str]:
    """Cross-checks the per-device models cannot do: unknown buses, two devices on one address."""
    problems: list[str] = []
    known = {bus.name for bus in modbus.buses}
    seen: dict[tuple[str, int], str] = {}
    for device in devices:
        if device.bus is not None and device.bus not in known:
            problems.append(f"device '{device.name}': bus '{device.bus}' is not defined in [[modbus.buses]]")
        line = device.bus if device.bus is not None else f"{device.host}:{device.port}"
        other = seen.setdefault((line, device.unit), device.name)
        if other != device.name:
            problems.append(f"device '{device.name}': unit {device.unit} on {line} is already '{other}'")
    return problems
