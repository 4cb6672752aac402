"""Helpers for the LoRaWAN tests: ChirpStack v4 event messages, a real-Store sink, a site config."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chirpstack_api import integration
from google.protobuf import json_format

from edge_agent.clock import Clock, SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.config.store import StoreConfig
from edge_agent.lorawan.lorawan_service import LorawanService, build_service
from edge_agent.reading import Event, Reading, Record
from edge_agent.services import ServiceContext
from edge_agent.store.store import Store

APP = "0b8a4c1e-2f4d-4b8e-9a51-6c3d2e1f0a97"
TENANT = "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"


class StoreSink:
    """The real SQLite store behind the RecordSink protocol: ``submit`` returns once committed, and submissions are
    committed in the order they were made (one writer at a time, first come first served, as the group commit)."""

    def __init__(self, path: Path) -> None:
        self.store = Store.open(StoreConfig(path=path, max_bytes=50_000_000, synchronous="normal"))
        self.calls = 0
        self._writers: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}  # a test may run several loops

    async def submit(self, records: Sequence[Record]) -> list[int]:
        self.calls += 1
        async with self._writers.setdefault(asyncio.get_running_loop(), asyncio.Lock()):
            return await asyncio.to_thread(self.store.append, list(records))

    def records(self) -> list[Record]:
        return [s.record for s in self.store.history(1, 10**12, limit=1_000_000)]

    def readings(self, device: str | None = None) -> dict[str, Any]:
        """The last value of each point (of one device)."""
        return {r.point: r.value for r in self.records()
                if isinstance(r, Reading) and (device is None or r.device == device)}

    def events(self, kind: str | None = None) -> list[Event]:
        return [r for r in self.records() if isinstance(r, Event) and (kind is None or r.kind == kind)]

    def close(self) -> None:
        self.store.close()


def device_info(dev_eui: str, name: str = "dev", app: str = APP) -> dict[str, Any]:
    return {"tenantId": TENANT, "tenantName": "FUTE", "applicationId": app, "applicationName": "commune",
            "deviceProfileId": "2a3b4c5d-0000-4000-8000-000000000001", "deviceProfileName": "profile",
            "deviceName": name, "devEui": dev_eui, "deviceClassEnabled": "CLASS_A", "tags": {}}


def uplink_event(dev_eui: str, data_hex: str, *, f_cnt: int, f_port: int, dedup: str | None = None,
                 rssi: int = -97, snr: float = 7.2, app: str = APP, sf: int = 9) -> dict[str, Any]:
    """A ChirpStack v4 ``up`` event, as its MQTT integration publishes it in JSON."""
    return {
        "deduplicationId": dedup or str(uuid.uuid4()),
        "time": "2026-11-28T21:00:00.123456+00:00",
        "deviceInfo": device_info(dev_eui, app=app),
        "devAddr": "01f2a3b4", "adr": True, "dr": 3, "fCnt": f_cnt, "fPort": f_port, "confirmed": False,
        "data": base64.b64encode(bytes.fromhex(data_hex)).decode(),
        "object": {"vendor_key": 1.0},
        "rxInfo": [
            {"gatewayId": "0016c001ff10a235", "uplinkId": 4011, "nsTime": "2026-11-28T21:00:00.130Z",
             "rssi": rssi - 12, "snr": snr - 3, "channel": 2, "location": {}, "context": "EFwMtA==",
             "metadata": {"region_config_id": "eu868"}, "crcStatus": "CRC_OK"},
            {"gatewayId": "0016c001ff10a236", "uplinkId": 4012, "rssi": rssi, "snr": snr, "channel": 2,
             "location": {}, "context": "EFwMtA==", "crcStatus": "CRC_OK"},
        ],
        "txInfo": {"frequency": 868300000,
                   "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": sf, "codeRate": "CR_4_5"}}},
        "regionConfigId": "eu868",
    }


def event_topic(dev_eui: str, kind: str, app: str = APP) -> str:
    return f"application/{app}/device/{dev_eui}/event/{kind}"


def encode(event: dict[str, Any], kind: str, encoding: str) -> bytes:
    """The event in the integration's encoding (protobuf built from the same JSON, as ChirpStack would)."""
    if encoding == "json":
        return json.dumps(event).encode()
    message_type = {"up": integration.UplinkEvent, "txack": integration.TxAckEvent, "ack": integration.AckEvent,
                    "log": integration.LogEvent, "status": integration.StatusEvent}[kind]
    message = json_format.ParseDict(event, message_type(), ignore_unknown_fields=True)
    return bytes(message.SerializeToString())


def site(port: int, devices: list[dict[str, Any]], *, encoding: str = "json", **chirpstack: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "gateway_id": "gw-test",
        "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
        "devices": devices,
        "chirpstack": {"host": "127.0.0.1", "port": port, "client_id": f"agent-{uuid.uuid4().hex[:8]}",
                       "encoding": encoding, **chirpstack},
    })


def make_service(config: SiteConfig, sink: StoreSink, clock: Clock | None = None,
                 tick: float = 0.05) -> LorawanService:
    service = build_service(ServiceContext(config=config, sink=sink, clock=clock or SystemClock(assume_synced=True)))
    assert service is not None
    service._tick = tick
    return service


async def wait_until(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await asyncio.to_thread(predicate)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout} s")
        await asyncio.sleep(0.05)


async def wait_connected(service: LorawanService, timeout: float = 10.0) -> None:
    """Connected and subscribed (a SUBACK has had time to come back)."""
    await wait_until(lambda: service.health()["subscribed"], timeout)


class Publisher:
    """One MQTT connection for a whole test (ChirpStack's side); ``send`` returns once the broker has it."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(10)

    async def asend(self, topic: str, payload: bytes, qos: int = 1) -> None:
        await asyncio.to_thread(self.send, topic, payload, qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
