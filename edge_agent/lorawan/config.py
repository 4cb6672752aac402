"""Site-config model of a LoRaWAN device (placeholder until the LoRaWAN driver lands)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge_agent.config.base import Model


class LorawanDeviceConfig(Model):
    """A LoRaWAN device heard through ChirpStack."""

    driver: Literal["lorawan"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    dev_eui: str = Field(pattern=r"^[0-9a-fA-F]{16}$")
    codec: str
