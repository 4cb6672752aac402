"""LoRaWAN ingest: ChirpStack v4 uplink events published to a real Mosquitto, decoded by the shipped codecs and
committed in a real SQLite store (synchronous=FULL, WAL) by the real LorawanService; uplinks/s end to end.

Two scenarios per encoding:
- backlog: N uplinks wait in the broker (persistent session, QoS 1) while the agent is away; time to drain them.
- live: a publisher sends N uplinks as fast as the broker takes them while the agent runs.
An uplink counts once the sink has committed its records (the broker's message is acknowledged after that).

    python -m bench.lorawan_bench [--uplinks 5000] [--devices 50]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from chirpstack_api import integration
from google.protobuf import json_format
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Mosquitto, cpu_seconds, env_summary, report, rss_mb
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.config.store import StoreConfig
from edge_agent.logs import setup_logging
from edge_agent.lorawan.codecs import default_registry
from edge_agent.lorawan.lorawan_service import LorawanService, build_service
from edge_agent.reading import Reading, Record
from edge_agent.services import ServiceContext
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker

APP = "0b8a4c1e-2f4d-4b8e-9a51-6c3d2e1f0a97"
# (codec, fPort, payload): one bin sensor, one streetlight controller, one counter
PROFILES = [("milesight_em310_udl", 85, "01756403825e01040000"),
            ("milesight_ws558", 85, "0831000105816407c902000374b208068301000000048001000000"),
            ("parametric_pcr2", 14, "be01030001000200030004640ce40139")]


class CountingSink:
    """Commits through the store's single writer thread; counts the uplinks whose records are committed."""

    def __init__(self, worker: StoreWorker) -> None:
        self._worker = worker
        self.uplinks = 0
        self.records = 0
        self.commits = 0

    async def submit(self, records: Sequence[Record]) -> list[int]:
        seqs = await self._worker.call(self._worker.store.append, list(records))
        self.commits += 1
        self.records += len(records)
        self.uplinks += sum(1 for r in records if isinstance(r, Reading) and r.point == "lorawan.f_cnt")
        return seqs


def _devices(count: int) -> list[dict[str, Any]]:
    out = []
    for index in range(count):
        codec = PROFILES[index % len(PROFILES)][0]
        entry: dict[str, Any] = {"driver": "lorawan", "name": f"dev-{index}", "dev_eui": f"{index:016x}",
                                 "codec": codec}
        if codec == "milesight_em310_udl":
            entry["bin"] = {"d_empty_mm": 1500, "d_full_mm": 250}
        out.append(entry)
    return out


def _event(index: int, devices: int, encoding: str) -> tuple[str, bytes]:
    device = index % devices
    _codec, f_port, payload = PROFILES[device % len(PROFILES)]
    dev_eui = f"{device:016x}"
    event = {"deduplicationId": str(uuid.uuid4()), "time": "2026-11-28T21:00:00Z",
             "deviceInfo": {"tenantId": APP, "applicationId": APP, "deviceName": f"dev-{device}", "devEui": dev_eui},
             "devAddr": "01f2a3b4", "dr": 5, "fCnt": index // devices + 1, "fPort": f_port,
             "data": base64.b64encode(bytes.fromhex(payload)).decode(),
             "rxInfo": [{"gatewayId": "0016c001ff10a236", "rssi": -97, "snr": 7.2, "crcStatus": "CRC_OK"}],
             "txInfo": {"frequency": 868300000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7,
                                                                        "codeRate": "CR_4_5"}}}}
    topic = f"application/{APP}/device/{dev_eui}/event/up"
    if encoding == "json":
        return topic, json.dumps(event).encode()
    message = json_format.ParseDict(event, integration.UplinkEvent(), ignore_unknown_fields=True)
    return topic, bytes(message.SerializeToString())


def _publish_all(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 with a bounded window of unacknowledged messages; returns the seconds it took."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="chirpstack-bench")
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def _service(port: int, devices: int, encoding: str, sink: CountingSink) -> LorawanService:
    config = SiteConfig.model_validate({
        "gateway_id": "bench", "site": {"commune": "Esternay", "latitude": 48.73, "longitude": 3.56},
        "devices": _devices(devices),
        "chirpstack": {"port": port, "client_id": "edge-agent-bench-lorawan", "encoding": encoding},
    })
    service = build_service(ServiceContext(config=config, sink=sink, clock=SystemClock(assume_synced=True)))
    assert service is not None
    return service


async def _wait(sink: CountingSink, total: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while sink.uplinks < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {sink.uplinks} of {total} uplinks committed after {timeout} s")
        await asyncio.sleep(0.01)


async def _scenario(mode: str, encoding: str, uplinks: int, devices: int, folder: Path) -> dict[str, Any]:
    broker = Mosquitto.start()
    store = Store.open(StoreConfig(path=folder / f"{mode}-{encoding}.db", max_bytes=2_000_000_000))
    worker = StoreWorker(store)
    sink = CountingSink(worker)
    messages = [_event(i, devices, encoding) for i in range(uplinks)]
    try:
        service = _service(broker.port, devices, encoding, sink)
        await service.start()
        while not service.health()["subscribed"]:
            await asyncio.sleep(0.02)
        publish_seconds = 0.0
        if mode == "backlog":
            await service.stop()  # the session stays on the broker, which now queues the uplinks
            publish_seconds = _publish_all(broker.port, messages)
            service = _service(broker.port, devices, encoding, sink)
            cpu0, started = cpu_seconds(), time.perf_counter()
            await service.start()
        else:
            cpu0, started = cpu_seconds(), time.perf_counter()
            publisher = threading.Thread(target=lambda: _publish_all(broker.port, messages))
            publisher.start()
        await _wait(sink, uplinks)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds() - cpu0
        if mode == "live":
            publisher.join()
        health = service.health()
        await service.stop()
    finally:
        worker.close()
        broker.stop()
    counters = health["counters"]
    assert isinstance(counters, dict)
    return {"uplinks": uplinks, "devices": devices, "seconds": round(elapsed, 3),
            "uplinks_per_s": round(uplinks / elapsed, 1), "records_committed": sink.records,
            "commits (transactions)": sink.commits, "cpu_s_per_1000_uplinks (process; live includes publisher)":
            round(cpu / uplinks * 1000, 3), "undecodable": counters.get("undecodable", 0),
            "publish_only_s (backlog)": round(publish_seconds, 3), "rss_mb": round(rss_mb(), 1)}


def _decode_only(rounds: int) -> dict[str, Any]:
    registry = default_registry()
    figures: dict[str, Any] = {}
    for codec_name, f_port, payload in PROFILES:
        codec, data = registry.get(codec_name), bytes.fromhex(payload)
        started = time.perf_counter()
        for _ in range(rounds):
            codec.decode(f_port, data)
        figures[f"{codec_name} decodes/s"] = round(rounds / (time.perf_counter() - started))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uplinks", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=50)
    args = parser.parse_args()
    setup_logging("console", "WARNING")
    print(f"LoRaWAN ingest benchmark ({env_summary()})")
    report("codec decode only (no I/O)", _decode_only(20_000))
    with tempfile.TemporaryDirectory(prefix="lorawan-bench-") as tmp:
        for encoding in ("json", "protobuf"):
            for mode in ("backlog", "live"):
                figures = asyncio.run(_scenario(mode, encoding, args.uplinks, args.devices, Path(tmp)))
                report(f"{mode}, {encoding}: broker -> decode -> SQLite commit -> ack", figures)


if __name__ == "__main__":
    main()
