"""Site-config model of a Modbus device (placeholder until the Modbus driver lands)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge_agent.config.base import Model


class ModbusDeviceConfig(Model):
    """A Modbus device polled over TCP or RTU."""

    driver: Literal["modbus"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    profile: str
    poll_interval: float = Field(10.0, gt=0)
