"""What the demo prints: the batches the hypervisor would receive, one short line each."""

from __future__ import annotations

import json
import threading
from typing import Any

from edge_agent.backoff import Backoff
from edge_agent.mqtt_client import Message, MqttCallbacks, MqttClient, MqttSettings


def summarise(topic: str, payload: bytes, width: int = 80) -> str:
    """One line, at most ``width`` characters, for one upstream message."""
    try:
        body = json.loads(payload)
    except ValueError:
        return f"{topic}: {len(payload)} bytes (not JSON)"[:width]
    kind = topic.rsplit("/", 1)[-1]
    if kind == "status":
        state = "online" if body.get("online") else "OFFLINE"
        return f"status  {state} backlog={body.get('backlog', '?')} dropped={body.get('dropped', '?')}"[:width]
    if kind == "inventory" and isinstance(body.get("devices"), list):
        return f"inventory  {len(body['devices'])} devices"[:width]
    records = body.get("records", [])
    if not records:
        return f"{kind}: {len(payload)} bytes"[:width]
    seqs = f"#{records[0]['seq']}" + (f"-{records[-1]['seq']}" if len(records) > 1 else "")
    decoded = [r for r in records if not str(r.get("point", "")).startswith("lorawan.")] or records
    sample = ", ".join(_short(r) for r in decoded[:3])
    lane = body.get("lane", "")
    label = kind if lane in {"", "live", "events"} else f"{kind}/{lane}"
    return f"{label:<16}{len(records):>4}  {seqs:<12} {sample}"[:width]


def _short(record: dict[str, Any]) -> str:
    if "event" in record:
        return f"{record['event']}"
    value = record.get("value")
    shown = f"{value:.1f}" if isinstance(value, float) else str(value)
    unit = record.get("unit")
    return f"{record['device']}.{record['point']}={shown}" + (f" {unit}" if unit else "")


class Watcher:
    """Subscribes to the gateway's upstream subtree and prints each message."""

    def __init__(self, host: str, port: int, root: str) -> None:
        self.received = 0
        self._lock = threading.Lock()
        settings = MqttSettings(host=host, port=port, client_id="demo-watch", name="demo_watch", clean_session=True)
        self._client = MqttClient(settings, MqttCallbacks(on_message=self._on_message), Backoff(0.5, 5.0))
        self._client.subscribe(f"{root}/#", qos=1)
        self._client.start("demo-watch")

    def _on_message(self, message: Message) -> None:
        with self._lock:
            self.received += 1
        print(summarise(message.topic, message.payload), flush=True)

    def close(self) -> None:
        self._client.stop()
