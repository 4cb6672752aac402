"""A captured ChirpStack event (as ``mosquitto_sub`` prints it) decoded exactly as the running agent would.

The capture is one or more messages: JSON, one per line or one pretty-printed document, each optionally preceded
by its topic (``mosquitto_sub -v``); or one protobuf message, raw or as hex (``mosquitto_sub -F %x``). Each goes
through the agent's own ``EventIntake`` for the device (codec, ChirpStack object mapping, counters, events).
"""

from __future__ import annotations

import json
import re
from typing import Any

from edge_agent.catalog import catalog_for
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.lorawan.config import ChirpstackConfig, LorawanDeviceConfig
from edge_agent.lorawan.events import Encoding
from edge_agent.lorawan.intake import EventIntake
from edge_agent.reading import Event, Reading, Record

_HEX = re.compile(rb"^(?:[0-9a-fA-F]{2})+$")
_NO_APPLICATION = "00000000-0000-0000-0000-000000000000"


def split_capture(raw: bytes, encoding: Encoding) -> list[tuple[str | None, bytes]]:
    """(topic, payload) of each captured message; the topic is None when the capture does not show it."""
    if encoding == "protobuf":
        topic, body = None, raw
        if raw.startswith(b"application/"):
            head, _, body = raw.partition(b" ")
            topic = head.decode(errors="replace")
        if _HEX.match(body.strip()):
            body = bytes.fromhex(body.strip().decode())
        return [(topic, body)]
    text = raw.strip()
    try:
        json.loads(text)
        return [(None, text)]
    except ValueError:
        pass
    messages: list[tuple[str | None, bytes]] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line.startswith(b"application/"):
            head, _, payload = line.partition(b" ")
            messages.append((head.decode(errors="replace"), payload))
        elif line:
            messages.append((None, line))
    return messages


def decode_capture(config: SiteConfig, device: LorawanDeviceConfig, raw: bytes) -> list[dict[str, Any]]:
    """What the agent would store for each captured message of this device."""
    chirpstack = config.chirpstack or ChirpstackConfig()
    intake = EventIntake([device], catalog_for(tuple(config.drivers.paths)), SystemClock(), chirpstack.encoding,
                    max_payload=chirpstack.max_payload_bytes)
    results: list[dict[str, Any]] = []
    for topic, payload in split_capture(raw, chirpstack.encoding):
        used = topic or f"application/{device.application_id or _NO_APPLICATION}/device/{device.dev_eui}/event/up"
        outcome = intake.handle(used, payload)
        if (topic is None and chirpstack.encoding == "protobuf" and payload.endswith(b"\n")
                and any(isinstance(r, Event) and r.kind == "uplink_malformed" for r in outcome.records)):
            intake = EventIntake([device], catalog_for(tuple(config.drivers.paths)), SystemClock(), chirpstack.encoding)
            outcome = intake.handle(used, payload[:-1])  # mosquitto_sub ends each message with a newline
        results.append({"topic": used, "readings": [_reading(r) for r in outcome.records if isinstance(r, Reading)],
                        "events": [_event(r) for r in outcome.records if isinstance(r, Event)]})
    state = intake.table.by_name(device.name)
    if results and state is not None:
        results[-1]["device_status"] = state.status()
    return results


def _reading(record: Record) -> dict[str, Any]:
    assert isinstance(record, Reading)
    return {"point": record.point, "value": record.value, "unit": record.unit, "quality": record.quality.label,
            "ts": record.ts}


def _event(record: Record) -> dict[str, Any]:
    assert isinstance(record, Event)
    return {"kind": record.kind, "priority": record.priority.name.lower(), "message": record.message,
            "data": record.data, "ts": record.ts}
