"""ChirpStack v4 integration events parsed into our own typed objects. Pure: no I/O.

JSON events are read by ``events_json`` (no protobuf); protobuf's classes are imported, by ``events_protobuf``,
only when the site's ChirpStack integration is configured for protobuf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from edge_agent.errors import EdgeAgentError

Encoding = Literal["json", "protobuf"]
_TOPIC = re.compile(r"^application/([^/]+)/device/([0-9a-fA-F]{16})/event/([a-z]+)$")
EVENT_TYPES = ("up", "join", "status", "ack", "txack", "log")
MAX_RECEPTIONS = 8  # gateways kept per uplink, best RSSI first


class EventError(EdgeAgentError):
    """An event message that cannot be understood: bad topic, bad JSON, bad protobuf, wrong types."""


@dataclass(frozen=True)
class Topic:
    application_id: str
    dev_eui: str
    event: str


@dataclass(frozen=True)
class Reception:
    """How one gateway heard one uplink."""

    gateway_id: str
    rssi: int
    snr: float


@dataclass(frozen=True)
class Radio:
    """Radio metadata of one uplink: the gateway that heard it best, and every gateway that heard it."""

    gateway_id: str | None = None
    rssi: int | None = None
    snr: float | None = None
    spreading_factor: int | None = None
    frequency: int | None = None
    dr: int | None = None
    gateways: int = 0
    bandwidth: int | None = None
    receptions: tuple[Reception, ...] = ()


@dataclass(frozen=True)
class Uplink:
    dev_eui: str
    application_id: str
    deduplication_id: str
    time: float | None
    f_cnt: int
    f_port: int
    data: bytes
    confirmed: bool
    radio: Radio
    device_name: str = ""
    object: dict[str, Any] | None = None  # what ChirpStack's device-profile codec decoded, when one ran


@dataclass(frozen=True)
class TxAck:
    dev_eui: str
    queue_item_id: str
    downlink_id: int
    f_cnt_down: int
    gateway_id: str


@dataclass(frozen=True)
class Ack:
    dev_eui: str
    queue_item_id: str
    acknowledged: bool
    f_cnt_down: int


@dataclass(frozen=True)
class Log:
    dev_eui: str
    level: str
    code: str
    description: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Status:
    dev_eui: str
    battery_percent: float | None
    margin: int
    external_power: bool


@dataclass(frozen=True)
class Join:
    dev_eui: str
    dev_addr: str


ChirpstackEvent = Uplink | TxAck | Ack | Log | Status | Join

def parse_topic(topic: str) -> Topic:
    match = _TOPIC.match(topic)
    if match is None:
        raise EventError(f"not a ChirpStack device event topic: {topic[:200]!r}")
    application_id, dev_eui, event = match.groups()
    return Topic(application_id.lower(), dev_eui.lower(), event)


def parse_event(topic: Topic, payload: bytes, encoding: Encoding) -> ChirpstackEvent | None:
    """Our event for this message; None for event types we do not use (location...)."""
    if topic.event not in EVENT_TYPES:
        return None
    if encoding == "json":
        from edge_agent.lorawan.events_json import parse_json_event

        return parse_json_event(topic, payload)
    from edge_agent.lorawan.events_protobuf import parse_protobuf_event

    return parse_protobuf_event(topic, payload)
