"""The domains a device serves, one vocabulary for LoRaWAN codecs (``DOMAIN``) and Modbus profiles (``domain``)."""

from __future__ import annotations

from typing import Literal, get_args

Domain = Literal["lighting", "waste", "mobility", "security", "energy", "water", "environment"]
DOMAINS: tuple[str, ...] = get_args(Domain)
