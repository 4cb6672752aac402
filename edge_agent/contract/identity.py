"""Which NGSI-LD entity each device and each lighting group of a site is: its type, its id, what it belongs to.

Decided once, at start, from the site config, the mapping (``drivers/fiware.yaml``) and what the shipped driver
files say of a model that the mapping does not list: a Modbus profile's point names and description, a LoRaWAN
codec's model name and the points of its vectors, a simulated device's points. So an entity's type, hence its id,
never changes while the agent runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.config.devices import SimulatedDeviceConfig
from edge_agent.config.site import SiteConfig
from edge_agent.config.yaml_text import YamlError, read_yaml
from edge_agent.contract.fiware import DEFAULT_TYPE, FiwareMapping, ModelSpec, default_mapping
from edge_agent.errors import ConfigError, DecodeError
from edge_agent.frozen import frozen
from edge_agent.logs import get_logger
from edge_agent.lorawan.codec_api import CodecOptions
from edge_agent.lorawan.config import CHIRPSTACK_CODEC, LorawanDeviceConfig
from edge_agent.modbus.config import ModbusDeviceConfig

if TYPE_CHECKING:
    from edge_agent.lorawan.codecs import PayloadCodec

log = get_logger(__name__)

GROUP_TYPE = "StreetlightGroup"
CABINET_TYPE = "StreetlightControlCabinet"


def entity_id(entity_type: str, gateway: str, name: str) -> str:
    return f"urn:ngsi-ld:{entity_type}:{gateway}:{name}"


def model_key(device: object) -> str:
    """The device's model: its Modbus profile, its LoRaWAN codec, or its driver."""
    for attribute in ("profile", "codec"):
        value = getattr(device, attribute, None)
        if isinstance(value, str):
            return value
    return str(getattr(device, "driver", "unknown"))


@frozen
class Facts:
    """What the driver files say of a device's model: words describing it, and its point names."""

    text: str = ""
    points: frozenset[str] = frozenset()
    domain: str | None = None  # lighting, waste, mobility, security, energy, water or environment


@frozen
class DeviceIdentity:
    name: str
    model: str
    spec: ModelSpec
    entity_id: str
    groups: tuple[str, ...] = ()  # ids of the lighting groups it belongs to
    points: frozenset[str] = frozenset()
    scheduled: bool = False  # a member of a configured lighting group: the agent switches it on its program

    @property
    def entity_type(self) -> str:
        return self.spec.entity_type


@frozen
class GroupIdentity:
    name: str
    entity_id: str
    calendar: str
    members: tuple[tuple[str, str | None], ...]  # (device, point); point None: the whole luminaire
    implicit: bool = False  # a cabinet's own circuits, for a cabinet that is in no configured group


@frozen
class SiteIdentities:
    gateway: str
    devices: Mapping[str, DeviceIdentity]
    groups: Mapping[str, GroupIdentity] = field(default_factory=dict)


def device_facts(device: object, drivers: Sequence[Path] = ()) -> Facts:
    """What the driver files (the site's directories ``drivers``, then the bundled ones) say of this device's model;
    ConfigError if they cannot be read."""
    from edge_agent.catalog import catalog_for

    catalog = catalog_for(tuple(drivers))
    if isinstance(device, ModbusDeviceConfig):
        info = (profile := catalog.profile(device.profile)).device
        return Facts(f"{info.manufacturer} {info.model} {info.description}", frozenset(p.name for p in profile.points),
                     info.domain)
    if isinstance(device, LorawanDeviceConfig):
        if device.codec == CHIRPSTACK_CODEC:  # decoded by ChirpStack: the site config names its points
            fields = device.object_fields
            points = {f.point for f in fields if f.point} | {f"alarm.{f.alarm}" for f in fields if f.alarm}
            points |= {f"alarm.{name}" for f in fields for name in (f.flags or {}).values()}
            return Facts("", frozenset(points | {"battery"} if any(f.battery for f in fields) else points))
        codec = catalog.codec(device.codec)
        found = catalog.find("lorawan", device.codec)
        return Facts(codec.model, _vector_points(codec, found.vectors_path) if found else frozenset(), codec.domain)
    if isinstance(device, SimulatedDeviceConfig):
        return Facts(device.model, frozenset(p.name for p in device.points))
    return Facts()


def _readable_facts(device: object, drivers: Sequence[Path]) -> Facts:
    """The facts, or none when a driver file cannot be read (logged): the device is then typed by its name."""
    try:
        return device_facts(device, drivers)
    except (ConfigError, KeyError, OSError) as exc:
        log.warning("fiware_facts_unreadable", device=getattr(device, "name", "?"), error=str(exc))
        return Facts()


def _vector_points(codec: PayloadCodec, path: Path) -> frozenset[str]:
    """The points the codec decodes from the uplinks of its vectors (real frames of the device)."""
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, YamlError) as exc:
        raise ConfigError([f"{path}: cannot be read: {exc}"]) from exc
    names: set[str] = set()
    for uplink in (data or {}).get("uplinks", []) or []:
        if "error" in uplink:
            continue
        try:
            options = CodecOptions(**(uplink.get("options") or {}))
            decoded = codec.decode(int(uplink["f_port"]), bytes.fromhex(str(uplink["hex"])), options)
        except (DecodeError, KeyError, TypeError, ValueError):
            continue
        names.update(point.name for point in decoded.points)
        names.update(f"alarm.{name}" for name in decoded.alarms)
        if decoded.battery_percent is not None:
            names.add("battery")
    return frozenset(names)


_last: tuple[SiteConfig, FiwareMapping, SiteIdentities] | None = None  # the output and the inventory share it


def site_identities(config: SiteConfig, mapping: FiwareMapping | None = None) -> SiteIdentities:
    """Every device's and lighting group's entity; driver files are read only for models the mapping lacks, once
    per model (a codec's vectors are decoded once however many devices use it), and once per config."""
    global _last
    mapping = mapping or default_mapping()
    if _last is not None and _last[0] is config and _last[1] is mapping:
        return _last[2]
    gateway = config.gateway_id
    memberships: dict[str, list[str]] = {}
    groups: dict[str, GroupIdentity] = {}
    for group in config.lighting.groups:
        ident = GroupIdentity(group.name, entity_id(GROUP_TYPE, gateway, group.name), group.calendar,
                              tuple((m.device, m.point) for m in group.members))
        groups[group.name] = ident
        for member in group.members:
            if ident.entity_id not in memberships.setdefault(member.device, []):
                memberships[member.device].append(ident.entity_id)
    drivers = tuple(config.drivers.paths)
    read: dict[str, Facts] = {}

    def facts_of(device: object, key: str) -> Facts:
        if isinstance(device, SimulatedDeviceConfig) or key == CHIRPSTACK_CODEC:  # each device its own points
            return _readable_facts(device, drivers)
        if key not in read:
            read[key] = _readable_facts(device, drivers)
        return read[key]

    devices: dict[str, DeviceIdentity] = {}
    for device in config.devices:
        key = model_key(device)
        listed = key in mapping.models
        facts = Facts() if listed else facts_of(device, key)
        spec = mapping.model(key, facts.text, facts.points, facts.domain)
        if spec.entity_type == DEFAULT_TYPE and listed:
            facts = facts_of(device, key)
        member_of = tuple(memberships.get(device.name, ()))
        if spec.entity_type == CABINET_TYPE and not member_of:  # the model requires a group: its own circuits
            own = GroupIdentity(device.name, entity_id(GROUP_TYPE, gateway, device.name), "", ((device.name, None),),
                                implicit=True)
            groups.setdefault(own.name, own)
            member_of = (own.entity_id,)
        devices[device.name] = DeviceIdentity(device.name, key, spec, entity_id(spec.entity_type, gateway, device.name),
                                              member_of, facts.points, device.name in memberships)
    found = SiteIdentities(gateway, devices, groups)
    _last = (config, mapping, found)
    return found
