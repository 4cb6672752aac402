"""Alarm latency under load: a meter whose voltage swings across a threshold, and a subscriber timing its alarms.

The source is one more Modbus TCP meter (eastron_sdm120, a real pymodbus server in a thread of the harness),
polled every second. It stays at 215 V while the commune's own figures are measured; then, in a window of its own
while the rest of the load runs on, its voltage jumps between 215 V and 260 V every ``every`` seconds. The site has
a threshold rule on it (raise above 250 V, clear below 240 V), so the agent raises and clears an alarm at each
swing. The watch subscribes (QoS 1) to the gateway's events and readings topics and gives, for each alarm:

- **from the reading**: arrival of the alarm minus its timestamp, which is the triggering reading's (the
  instant the agent decoded the device's answer): what the hypervisor waits. The rules judge a reading as the
  group commit queues it, and the alarm, an event, is committed at once with it: no wait for the commit interval;
- **after its reading's arrival**: arrival of the alarm minus arrival of the reading that triggered it (same
  device, point and time). Both leave from the same commit, the events lane first: about zero, or below.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

from bench.hypervisor import percentile, subscribed_client

DEVICE = "alarm-meter"
POINT = "voltage"
RULE: dict[str, Any] = {"kind": "threshold", "name": "overvoltage", "device": DEVICE, "point": POINT,
                        "raise_above": 250.0, "clear_at": 240.0, "priority": "alarm"}
_LOW, _HIGH = 215.0, 260.0


class SwingingMeter:
    """A Modbus TCP meter in a thread of this process. Steady below the threshold until ``swing()``; from then on its
    voltage crosses the rule's threshold every ``every`` s."""

    def __init__(self, port: int, every: float) -> None:
        self.port = port
        self.every = every
        self.swings = 0
        self._swinging = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="alarm-meter", daemon=True)

    def start(self) -> SwingingMeter:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the swinging meter did not start")
        return self

    async def _serve(self) -> None:
        from edge_agent.modbus.simulator import make_units, start_tcp

        units = make_units({1: "eastron_sdm120"})
        units[1].set(POINT, _LOW)
        server = await start_tcp(units, self.port)
        self._ready.set()
        high = False
        while not self._stop.is_set():
            await asyncio.sleep(self.every)
            if not self._swinging.is_set():
                continue
            high = not high
            units[1].set(POINT, _HIGH if high else _LOW)
            self.swings += 1
        await server.shutdown()  # type: ignore[no-untyped-call]

    def swing(self) -> None:
        self._swinging.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class AlarmWatch:
    """The hypervisor's side of the alarms: their arrival against their reading's time and arrival."""

    def __init__(self, port: int, prefix: str) -> None:
        self._lock = threading.Lock()
        self._readings: dict[str, float] = {}  # ts text of the meter's voltage readings -> arrival
        self._alarms: dict[str, float] = {}  # ts text of the alarms (their readings' time) -> arrival
        self.from_reading: list[float] = []
        self.alarms = 0
        self.since = 0.0
        self.client = subscribed_client(port, "alarms", [f"{prefix}/readings", f"{prefix}/events"], self._on_message)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        arrived = time.time()
        records = json.loads(msg.payload).get("records", [])
        with self._lock:
            for record in records:
                if record.get("device") != DEVICE:
                    continue
                if record.get("point") == POINT:
                    self._readings[record["ts"]] = arrived
                elif str(record.get("event", "")).startswith("alarm."):
                    ts = datetime.fromisoformat(record["ts"]).timestamp()
                    if ts < self.since:
                        continue
                    self.alarms += 1
                    self.from_reading.append(arrived - ts)
                    self._alarms[record["ts"]] = arrived

    def reset(self) -> None:
        with self._lock:
            self.alarms = 0
            self.from_reading, self._alarms = [], {}
            self.since = time.time()

    def figures(self) -> dict[str, float]:
        with self._lock:
            from_reading, alarms = list(self.from_reading), self.alarms
            after_commit = [at - self._readings[ts] for ts, at in self._alarms.items() if ts in self._readings]
        return {
            "alarms measured": float(alarms),
            "alarm latency from the reading, p50 ms": round(1000 * percentile(from_reading, 0.5), 1),
            "alarm latency from the reading, p99 ms": round(1000 * percentile(from_reading, 0.99), 1),
            "alarm arrival after its reading's, p50 ms": round(1000 * percentile(after_commit, 0.5), 1),
            "alarm arrival after its reading's, p99 ms": round(1000 * percentile(after_commit, 0.99), 1),
        }

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
