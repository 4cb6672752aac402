"""What the reports need to know of a device from the site config: how often it reports, and where it stands."""

from __future__ import annotations

from edge_agent.catalog import catalog_for
from edge_agent.config.base import Position
from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError

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


def device_domain(config: SiteConfig, name: str) -> str | None:
    """What the device serves by its driver's ``DOMAIN`` (mobility, waste...); None when its driver says nothing
    (simulated devices, ChirpStack-decoded ones, a site driver without it) or cannot be loaded."""
    device = next((d for d in config.devices if d.name == name), None)
    catalog = catalog_for(tuple(config.drivers.paths))
    try:
        codec = getattr(device, "codec", None)
        if isinstance(codec, str) and catalog.find("lorawan", codec) is not None:
            return catalog.codec(codec).domain
        profile = getattr(device, "profile", None)
        if isinstance(profile, str) and catalog.find("modbus", profile) is not None:
            return catalog.profile(profile).device.domain
    except ConfigError:
        return None
    return None


def serves(config: SiteConfig, name: str, domain: str) -> bool:
    """Whether a device may be read as one of ``domain`` (its driver says so, or says nothing)."""
    found = device_domain(config, name)
    return found is None or found == domain
