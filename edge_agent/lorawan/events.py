"""ChirpStack v4 integration events (JSON or protobuf) parsed into our own typed objects. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from chirpstack_api import integration
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

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

_MESSAGES: dict[str, type[Message]] = {
    "up": integration.UplinkEvent,
    "join": integration.JoinEvent,
    "status": integration.StatusEvent,
    "ack": integration.AckEvent,
    "txack": integration.TxAckEvent,
    "log": integration.LogEvent,
}


def parse_topic(topic: str) -> Topic:
    match = _TOPIC.match(topic)
    if match is None:
        raise EventError(f"not a ChirpStack device event topic: {topic[:200]!r}")
    application_id, dev_eui, event = match.groups()
    return Topic(application_id.lower(), dev_eui.lower(), event)


def parse_event(topic: Topic, payload: bytes, encoding: Encoding) -> ChirpstackEvent | None:
    """Our event for this message; None for event types we do not use (location...)."""
    message_type = _MESSAGES.get(topic.event)
    if message_type is None:
        return None
    message = _parse_message(message_type(), payload, encoding)
    info_eui = getattr(message, "device_info").dev_eui.lower()  # noqa: B009 (every event type has it)
    if info_eui and info_eui != topic.dev_eui:
        raise EventError(f"deviceInfo.devEui {info_eui} differs from the topic's {topic.dev_eui}")
    event: ChirpstackEvent = _CONVERTERS[topic.event](topic, message)
    return event


def _parse_message(message: Message, payload: bytes, encoding: Encoding) -> Message:
    try:
        if encoding == "json":
            json_format.Parse(payload, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(payload)
    except (json_format.ParseError, ProtobufDecodeError, UnicodeDecodeError) as exc:
        raise EventError(f"bad {encoding} event: {str(exc)[:300]}") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise EventError(f"bad {encoding} event: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return message


def _seconds(stamp: Any) -> float | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return float(stamp.seconds) + float(stamp.nanos) / 1e9


def _radio(message: Any) -> Radio:
    best = None
    for rx in message.rx_info:
        if best is None or rx.rssi > best.rssi:
            best = rx
    lora = message.tx_info.modulation.lora if message.tx_info.modulation.HasField("lora") else None
    return Radio(
        gateway_id=best.gateway_id if best is not None else None,
        rssi=int(best.rssi) if best is not None else None,
        snr=round(float(best.snr), 2) if best is not None else None,
        spreading_factor=int(lora.spreading_factor) if lora is not None and lora.spreading_factor else None,
        frequency=int(message.tx_info.frequency) or None,
        dr=int(message.dr),
        gateways=len(message.rx_info),
        bandwidth=int(lora.bandwidth) if lora is not None and lora.bandwidth else None,
        receptions=tuple(Reception(rx.gateway_id, int(rx.rssi), round(float(rx.snr), 2))
                         for rx in sorted(message.rx_info, key=lambda rx: -rx.rssi)[:MAX_RECEPTIONS]),
    )


def _uplink(topic: Topic, m: Any) -> Uplink:
    return Uplink(
        dev_eui=topic.dev_eui, application_id=topic.application_id, deduplication_id=m.deduplication_id,
        time=_seconds(m.time) if m.HasField("time") else None, f_cnt=int(m.f_cnt), f_port=int(m.f_port),
        data=bytes(m.data), confirmed=bool(m.confirmed), radio=_radio(m), device_name=m.device_info.device_name,
    )


def _enum_name(enum: Any, number: int) -> str:
    try:
        return str(enum.Name(number))
    except ValueError:
        return str(number)


def _log(topic: Topic, m: Any) -> Log:
    return Log(topic.dev_eui, _enum_name(integration.LogLevel, m.level), _enum_name(integration.LogCode, m.code),
               m.description, dict(m.context))


def _status(topic: Topic, m: Any) -> Status:
    battery = None if m.battery_level_unavailable or m.external_power_source else round(float(m.battery_level), 1)
    return Status(topic.dev_eui, battery, int(m.margin), bool(m.external_power_source))


_CONVERTERS: dict[str, Any] = {
    "up": _uplink,
    "join": lambda t, m: Join(t.dev_eui, m.dev_addr),
    "status": _status,
    "ack": lambda t, m: Ack(t.dev_eui, m.queue_item_id, bool(m.acknowledged), int(m.f_cnt_down)),
    "txack": lambda t, m: TxAck(t.dev_eui, m.queue_item_id, int(m.downlink_id), int(m.f_cnt_down), m.gateway_id),
    "log": _log,
}
