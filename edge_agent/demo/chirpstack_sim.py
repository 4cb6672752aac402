"""A stand-in for ChirpStack in the demo: publishes v4 JSON uplink events for the demo's LoRaWAN devices.

Payloads come from each codec's own vectors (real frames of the real devices), so the demo decodes what a
commune's sensors send. Only the demo uses this; tests publish their own events.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import yaml

from edge_agent.backoff import Backoff
from edge_agent.config.site import SiteConfig
from edge_agent.lorawan.codecs import default_registry
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.mqtt_client import MqttCallbacks, MqttClient, MqttSettings

DEMO_APPLICATION = "0b8a4c1e-2f4d-4b8e-9a51-6c3d2e1f0a97"


def sample_frames(codec: str) -> list[tuple[int, bytes]]:
    """The uplink frames of a codec's vectors that decode (error vectors left out)."""
    data = yaml.safe_load(default_registry().vectors_path(codec).read_text())
    return [(int(v["f_port"]), bytes.fromhex(v["hex"])) for v in data.get("uplinks", []) if "error" not in v]


def uplink_event(
    device: LorawanDeviceConfig, f_cnt: int, f_port: int, frame: bytes, rng: random.Random
) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "deduplicationId": str(uuid.uuid4()),
        "time": now,
        "deviceInfo": {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "demo",
                       "applicationId": device.application_id or DEMO_APPLICATION, "applicationName": "demo",
                       "deviceProfileId": "2a3b4c5d-0000-4000-8000-000000000001", "deviceProfileName": device.codec,
                       "deviceName": device.name, "devEui": device.dev_eui, "deviceClassEnabled": "CLASS_A",
                       "tags": {}},
        "devAddr": "01a2b3c4", "adr": True, "dr": 5, "fCnt": f_cnt, "fPort": f_port, "confirmed": False,
        "data": base64.b64encode(frame).decode(),
        "rxInfo": [{"gatewayId": "0016c001ff10a235", "uplinkId": rng.randrange(1, 2**31), "nsTime": now,
                    "rssi": rng.randint(-118, -70), "snr": round(rng.uniform(-8.0, 9.5), 1), "channel": 2,
                    "location": {}, "context": "AAAAAA==", "crcStatus": "CRC_OK"}],
        "txInfo": {"frequency": 868100000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7,
                                                                   "codeRate": "CR_4_5"}}},
    }


class ChirpstackSimulator:
    """One thread publishing each device's frames in turn, every ``uplink_interval`` of the device."""

    def __init__(self, config: SiteConfig) -> None:
        self._devices = [d for d in config.devices if isinstance(d, LorawanDeviceConfig)]
        chirpstack = config.chirpstack
        self._host = chirpstack.host if chirpstack else "127.0.0.1"
        self._port = chirpstack.port if chirpstack else 1883
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chirpstack-sim", daemon=True)
        self.published = 0

    @property
    def active(self) -> bool:
        return bool(self._devices)

    def start(self) -> None:
        if self._devices:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _schedule(self) -> Iterator[tuple[float, LorawanDeviceConfig, int, bytes]]:
        rng = random.Random(7)
        frames = {d.name: itertools.cycle(sample_frames(d.codec)) for d in self._devices}
        due = {d.name: time.monotonic() + rng.uniform(2.0, 4.0) for d in self._devices}
        while True:
            device = min(self._devices, key=lambda d: due[d.name])
            f_port, frame = next(frames[device.name])
            yield due[device.name], device, f_port, frame
            due[device.name] += device.uplink_interval

    def _run(self) -> None:
        settings = MqttSettings(host=self._host, port=self._port, client_id="demo-chirpstack", name="demo_chirpstack",
                                clean_session=True, max_queued=1000)  # uplinks made before it connects wait
        client = MqttClient(settings, MqttCallbacks(), Backoff(0.5, 5.0))
        client.start("demo-chirpstack-mqtt")
        rng = random.Random(11)
        counters: dict[str, int] = {}
        try:
            for due, device, f_port, frame in self._schedule():
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
                counters[device.name] = counters.get(device.name, 0) + 1
                event = uplink_event(device, counters[device.name], f_port, frame, rng)
                topic = f"application/{event['deviceInfo']['applicationId']}/device/{device.dev_eui}/event/up"
                client.publish(topic, json.dumps(event).encode(), qos=1)
                self.published += 1
        finally:
            client.stop()
