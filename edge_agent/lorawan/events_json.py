"""ChirpStack v4 integration events in JSON, read without protobuf (its classes load only for protobuf events).

The integration writes events with protobuf's JSON mapping: lowerCamelCase names (the proto's own names are
accepted too), 32-bit integers as numbers or numeric strings, bytes in base64, timestamps in RFC 3339, enums by
name or number, ``object`` as any JSON object. Every field the agent reads is type-checked as protobuf's own
parser would; a field it does not read is ignored. Pure.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
from datetime import datetime
from typing import Any

from edge_agent.lorawan.events import (
    MAX_RECEPTIONS,
    Ack,
    ChirpstackEvent,
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
from edge_agent.safe_text import safe_data

LOG_LEVELS = {0: "INFO", 1: "WARNING", 2: "ERROR"}
LOG_CODES = {0: "UNKNOWN", 1: "DOWNLINK_PAYLOAD_SIZE", 2: "UPLINK_CODEC", 3: "DOWNLINK_CODEC", 4: "OTAA",
             5: "UPLINK_F_CNT_RESET", 6: "UPLINK_MIC", 7: "UPLINK_F_CNT_RETRANSMISSION", 8: "DOWNLINK_GATEWAY",
             9: "RELAY_NEW_END_DEVICE", 10: "F_CNT_DOWN", 11: "EXPIRED"}
_INT = re.compile(r"^-?\d+$")
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


class _Fields:
    """One JSON object of the event, read field by field with protobuf's JSON rules."""

    def __init__(self, node: object, where: str) -> None:
        if node is None:
            node = {}
        if not isinstance(node, dict):
            raise EventError(f"bad json event: {where} is {type(node).__name__}, not an object")
        self._node: dict[str, Any] = node
        self._where = where

    def _get(self, name: str) -> Any:
        value = self._node.get(name)
        if value is None:
            value = self._node.get(_SNAKE.sub("_", name).lower())
        return value

    def _bad(self, name: str, value: object, expected: str) -> EventError:
        return EventError(f"bad json event: {self._where}{name} = {str(value)[:60]!r} is not {expected}")

    def integer(self, name: str, *, unsigned: bool = True) -> int:
        value = self._get(name)
        if value is None:
            return 0
        if isinstance(value, str) and _INT.match(value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or (unsigned and value < 0):
            raise self._bad(name, value, "an unsigned integer" if unsigned else "an integer")
        if not -(2**31) <= value < 2**32:
            raise self._bad(name, value, "a 32-bit integer")
        return value

    def number(self, name: str) -> float:
        value = self._get(name)
        if value is None:
            return 0.0
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self._bad(name, value, "a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(name, value, "a number")
        return float(value)

    def text(self, name: str) -> str:
        value = self._get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._bad(name, value, "a string")
        return value

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name, value, "true or false")
        return value

    def data(self, name: str) -> bytes:
        value = self.text(name).replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self._bad(name, value, "base64") from None

    def time(self, name: str) -> float | None:
        """Unix seconds; infinity for a time written well but beyond what the calendar holds (year 9999 at -01:00):
        the intake replaces any time outside 2000-2100 by the receive time, and says so."""
        value = self.text(name)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self._bad(name, value, "an RFC 3339 time") from None
        try:
            return moment.timestamp()
        except (OverflowError, OSError, ValueError):
            return math.inf

    def enum(self, name: str, names: dict[int, str]) -> str:
        value = self._get(name)
        if value is None:
            return names[0]
        if isinstance(value, str) and not _INT.match(value):
            return value if value in names.values() else names[0]  # an unknown name is ignored, as protobuf does
        number = self.integer(name, unsigned=False)
        return names.get(number, str(number))

    def child(self, name: str) -> _Fields:
        return _Fields(self._get(name), f"{self._where}{name}.")

    def children(self, name: str) -> list[_Fields]:
        value = self._get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(name, value, "a list")
        return [_Fields(item, f"{self._where}{name}[{index}].") for index, item in enumerate(value)]

    def mapping(self, name: str) -> dict[str, str]:
        value = self._get(name)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._bad(name, value, "an object of strings")
        return dict(value)

    def object(self, name: str) -> dict[str, Any] | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._bad(name, value, "an object")
        converted: dict[str, Any] = _struct_numbers(value)
        return converted


def _struct_numbers(value: Any) -> Any:
    """What protobuf's Struct would hold: every number a float (non-finite ones refused)."""
    if isinstance(value, dict):
        return {str(key): _struct_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_struct_numbers(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise EventError("bad json event: object holds a number that is not finite")
        return float(value)
    return value


def parse_json_event(topic: Topic, payload: bytes) -> ChirpstackEvent:
    """The event; EventError for anything else, whatever the bytes. Every string and key of the document is made
    safe on the way in (JSON can carry lone surrogates that nothing could store or send later)."""
    try:
        document = safe_data(json.loads(payload))
    except (ValueError, RecursionError) as exc:
        raise EventError(f"bad json event: {type(exc).__name__}: {str(exc)[:300]}") from exc
    if not isinstance(document, dict):
        raise EventError(f"bad json event: the message is {type(document).__name__}, not an object")
    event = _Fields(document, "")
    check_identity(topic, event.child("deviceInfo").text("devEui").lower(),
                   event.text("deduplicationId") if topic.event == "up" else None)
    try:
        converted: ChirpstackEvent = _CONVERTERS[topic.event](topic, event)
    except EventError:
        raise
    except Exception as exc:  # what no check foresaw (a structure too deep...): this message, never the service
        raise EventError(f"bad json event: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return converted


def _radio(event: _Fields) -> Radio:
    best: _Fields | None = None
    received = event.children("rxInfo")
    for rx in received:
        if best is None or rx.integer("rssi", unsigned=False) > best.integer("rssi", unsigned=False):
            best = rx
    tx = event.child("txInfo")
    lora = tx.child("modulation").child("lora")
    spreading = lora.integer("spreadingFactor")
    return Radio(
        gateway_id=_gateway(best) if best is not None else None,
        rssi=best.integer("rssi", unsigned=False) if best is not None else None,
        snr=snr_db(best.number("snr")) if best is not None else None,
        spreading_factor=spreading or None,
        frequency=tx.integer("frequency") or None,
        dr=event.integer("dr"),
        gateways=len(received),
        bandwidth=lora.integer("bandwidth") or None,
        receptions=tuple(_reception(rx) for rx in
                         sorted(received, key=lambda rx: -rx.integer("rssi", unsigned=False))[:MAX_RECEPTIONS]),
    )


def _reception(rx: _Fields) -> Reception:
    return Reception(_gateway(rx), rx.integer("rssi", unsigned=False), snr_db(rx.number("snr")))


def _gateway(rx: _Fields) -> str:
    """A gateway's id, one string per gateway however many uplinks it heard (each device keeps its last ones)."""
    return sys.intern(rx.text("gatewayId"))


def _uplink(topic: Topic, event: _Fields) -> UplinkFrame:
    return UplinkFrame(
        dev_eui=topic.dev_eui, application_id=topic.application_id, deduplication_id=event.text("deduplicationId"),
        time=event.time("time"), f_cnt=event.integer("fCnt"), f_port=event.integer("fPort"), data=event.data("data"),
        confirmed=event.flag("confirmed"), radio=_radio(event),
        device_name=event.child("deviceInfo").text("deviceName"), object=event.object("object"),
    )


def _status(topic: Topic, event: _Fields) -> Status:
    unavailable = event.flag("batteryLevelUnavailable") or event.flag("externalPowerSource")
    battery = None if unavailable else round(event.number("batteryLevel"), 1)
    return Status(topic.dev_eui, battery, event.integer("margin", unsigned=False), event.flag("externalPowerSource"))


def _converter_log(topic: Topic, event: _Fields) -> Log:
    return Log(topic.dev_eui, event.enum("level", LOG_LEVELS), event.enum("code", LOG_CODES), event.text("description"),
               event.mapping("context"))


_CONVERTERS: dict[str, Any] = {
    "up": _uplink,
    "join": lambda t, e: Join(t.dev_eui, e.text("devAddr")),
    "status": _status,
    "ack": lambda t, e: Ack(t.dev_eui, e.text("queueItemId"), e.flag("acknowledged"), e.integer("fCntDown")),
    "txack": lambda t, e: TxAck(t.dev_eui, e.text("queueItemId"), e.integer("downlinkId"), e.integer("fCntDown"),
                                e.text("gatewayId")),
    "log": _converter_log,
}
