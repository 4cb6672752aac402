"""Device entries of the site config. Each driver brings its own model; ``driver`` picks it."""

from __future__ import annotations

from typing import Annotated, Literal

from edge_agent.config.base import Field, Model, Position
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.modbus.config import ModbusDeviceConfig

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class SimulatedPoint(Model):
    """One point of a simulated device: a sine wave with noise, or a counter."""

    name: str = Field(pattern=NAME_PATTERN)
    unit: str | None = None
    kind: Literal["sine", "counter", "random"] = "sine"
    base: float = 0.0
    amplitude: float = 1.0
    period: float = Field(600.0, gt=0)


class SimulatedDeviceConfig(Model):
    """A device that exists only in software: for the demo site and for load tests."""

    driver: Literal["simulated"]
    name: str = Field(pattern=NAME_PATTERN)
    model: str = "simulated"
    poll_interval: float = Field(5.0, gt=0)
    points: list[SimulatedPoint] = Field(min_length=1)
    position: Position | None = None


DeviceConfig = Annotated[
    SimulatedDeviceConfig | ModbusDeviceConfig | LorawanDeviceConfig,
    Field(discriminator="driver"),
]
