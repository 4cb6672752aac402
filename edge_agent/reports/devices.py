"""What the reports need to know of a device from the site config: how often it reports, and where it stands."""

from __future__ import annotations

from edge_agent.config.base import Position
from edge_agent.config.site import SiteConfig

DEFAULT_INTERVAL_S = 3600.0


def device_interval(config: SiteConfig, name: str) -> float:
    """Seconds between the device's reports: a LoRaWAN device's uplink interval, a polled device's poll interval."""
    for device in config.devices:
        if device.name == name:
            interval = getattr(device, "uplink_interval", None) or getattr(device, "poll_interval", None)
            return float(interval or DEFAULT_INTERVAL_S)
    return DEFAULT_INTERVAL_S


def device_position(config: SiteConfig, name: str) -> Position | None:
    for device in config.devices:
        if device.name == name:
            return device.position
    return None
