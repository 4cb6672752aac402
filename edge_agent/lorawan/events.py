"""ChirpStack v4 integration events parsed into our own typed objects. Pure: no I/O.

``event_parsing.parse_event`` reads a message: JSON events by ``events_json`` (no protobuf); protobuf's classes
are imported, by ``events_protobuf``, only when the site's ChirpStack integration is configured for protobuf.
"""

from __future__ import annotations

import math
import re
from dataclasses import field
from typing import Any, Literal

from edge_agent.errors import EdgeAgentError
from edge_agent.frozen import frozen
from edge_agent.safe_text import safe_text

Encoding = Literal["json", "protobuf"]
_TOPIC = re.compile(r"^application/([^/]+)/device/([0-9a-fA-F]{16})/event/([a-z]+)$")
EVENT_TYPES = ("up", "join", "status", "ack", "txack", "log")
MAX_RECEPTIONS = 8  # gateways kept per uplink, best RSSI first
# ChirpStack v4 names the device in every event it publishes; an event that makes records without it (an empty
# body parses as a valid message of zeros) would be an uplink with fCnt 0 or a battery at 0 % out of nothing.
_DEVICE_REQUIRED = ("up", "join", "status")


class EventError(EdgeAgentError):
    """An event message that cannot be understood: bad topic, bad JSON, bad protobuf, wrong types.

    Its message quotes outside text, made safe to store and send (see ``edge_agent.safe_text``)."""

    def __init__(self, message: str) -> None:
        super().__init__(safe_text(message))


@frozen
class Topic:
    application_id: str
    dev_eui: str
    event: str


@frozen(slots=True)  # slots: each device keeps its last uplinks' (uplinks.RECENT_UPLINKS)
class Reception:
    """How one gateway heard one uplink."""

    gateway_id: str
    rssi: int
    snr: float | None


@frozen(slots=True)
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


@frozen
class UplinkFrame:
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


@frozen
class TxAck:
    dev_eui: str
    queue_item_id: str
    downlink_id: int
    f_cnt_down: int
    gateway_id: str


@frozen
class Ack:
    dev_eui: str
    queue_item_id: str
    acknowledged: bool
    f_cnt_down: int


@frozen
class Log:
    dev_eui: str
    level: str
    code: str
    description: str
    context: dict[str, str] = field(default_factory=dict)


@frozen
class Status:
    dev_eui: str
    battery_percent: float | None
    margin: int
    external_power: bool


@frozen
class Join:
    dev_eui: str
    dev_addr: str


ChirpstackEvent = UplinkFrame | TxAck | Ack | Log | Status | Join

def snr_db(value: float) -> float | None:
    """A signal-to-noise ratio in dB; NaN or infinite (a float field can carry them) is no measurement."""
    return round(float(value), 2) if math.isfinite(value) else None


def parse_topic(topic: str) -> Topic:
    match = _TOPIC.match(topic)
    if match is None:
        raise EventError(f"not a ChirpStack device event topic: {topic[:200]!r}")
    application_id, dev_eui, event = match.groups()
    return Topic(application_id.lower(), dev_eui.lower(), event)


def check_identity(topic: Topic, info_eui: str, deduplication_id: str | None) -> None:
    """The device a message names is its topic's; an event that makes records names one, and an uplink carries
    its deduplication id (``None``: not an uplink)."""
    if info_eui and info_eui != topic.dev_eui:
        raise EventError(f"deviceInfo.devEui {info_eui} differs from the topic's {topic.dev_eui}")
    if not info_eui and topic.event in _DEVICE_REQUIRED:
        raise EventError(f"'{topic.event}' event without deviceInfo.devEui (an empty or truncated message)")
    if deduplication_id is not None and not deduplication_id:
        raise EventError(f"'{topic.event}' event without deduplicationId (an empty or truncated message)")
