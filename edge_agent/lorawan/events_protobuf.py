"""ChirpStack v4 integration events in protobuf, through chirpstack_api's classes. Pure: no I/O.

Imported only when the site's integration sends protobuf (``[chirpstack] encoding = "protobuf"``).
"""

from __future__ import annotations

from typing import Any

from chirpstack_api import integration
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from edge_agent.lorawan.events import (
    MAX_RECEPTIONS,
    Ack,
    ChirpstackEvent,
    Encoding,
    EventError,
    Join,
    Log,
    Radio,
    Reception,
    Status,
    Topic,
    TxAck,
    UplinkFrame,
    check_identity,
    snr_db,
)

_MESSAGES: dict[str, type[Message]] = {
    "up": integration.UplinkEvent,
    "join": integration.JoinEvent,
    "status": integration.StatusEvent,
    "ack": integration.AckEvent,
    "txack": integration.TxAckEvent,
    "log": integration.LogEvent,
}


def parse_protobuf_event(topic: Topic, payload: bytes, encoding: Encoding = "protobuf") -> ChirpstackEvent:
    """The event in a protobuf message (or, for comparison, in JSON through protobuf's own JSON parser)."""
    message = _parse_message(_MESSAGES[topic.event](), payload, encoding)
    info_eui = getattr(message, "device_info").dev_eui.lower()  # noqa: B009 (every event type has it)
    check_identity(topic, info_eui, getattr(message, "deduplication_id") if topic.event == "up" else None)  # noqa: B009
    try:
        event: ChirpstackEvent = _CONVERTERS[topic.event](topic, message)
    except Exception as exc:  # what no check foresaw (a Struct that cannot be read...): this message only
        raise EventError(f"bad {encoding} event: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return event


def _parse_message(message: Message, payload: bytes, encoding: Encoding) -> Message:
    try:
        if encoding == "json":
            json_format.Parse(payload, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(payload)
    except (json_format.ParseError, ProtobufDecodeError, UnicodeDecodeError) as exc:
        raise EventError(f"bad {encoding} event: {str(exc)[:300]}") from exc
    except Exception as exc:  # the library's other failures on hostile input (RecursionError, SystemError...)
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
        snr=snr_db(best.snr) if best is not None else None,
        spreading_factor=int(lora.spreading_factor) if lora is not None and lora.spreading_factor else None,
        frequency=int(message.tx_info.frequency) or None,
        dr=int(message.dr),
        gateways=len(message.rx_info),
        bandwidth=int(lora.bandwidth) if lora is not None and lora.bandwidth else None,
        receptions=tuple(Reception(rx.gateway_id, int(rx.rssi), snr_db(rx.snr))
                         for rx in sorted(message.rx_info, key=lambda rx: -rx.rssi)[:MAX_RECEPTIONS]),
    )


def _uplink(topic: Topic, m: Any) -> UplinkFrame:
    return UplinkFrame(
        dev_eui=topic.dev_eui, application_id=topic.application_id, deduplication_id=m.deduplication_id,
        time=_seconds(m.time) if m.HasField("time") else None, f_cnt=int(m.f_cnt), f_port=int(m.f_port),
        data=bytes(m.data), confirmed=bool(m.confirmed), radio=_radio(m), device_name=m.device_info.device_name,
        object=json_format.MessageToDict(m.object) if m.HasField("object") else None,
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
