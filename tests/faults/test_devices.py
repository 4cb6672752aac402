"""Device faults: bad Modbus devices, a serial adapter pulled out and put back, garbage from ChirpStack.

Real peers: pymodbus TCP and RTU servers (RTU over a socat pty pair), a raw TCP server that answers garbage, a
real Mosquitto carrying ChirpStack's events. The sink is a recording fake for Modbus (what matters is when each
device's batch arrives) and the real SQLite store for LoRaWAN. The promise: whatever one device or one message
does, the healthy devices keep their poll rate and every good uplink is kept.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pymodbus.server import ModbusTcpServer

from edge_agent.modbus.modbus_service import build_service
from edge_agent.modbus.simulator import SimContext, make_units, start_rtu, start_tcp
from edge_agent.reading import Reading
from tests.faults import figures
from tests.lorawan.support import Publisher, StoreSink, event_topic, make_service, uplink_event, wait_connected
from tests.lorawan.support import site as lorawan_site
from tests.lorawan.support import wait_until as async_wait_until
from tests.modbus.helpers import ListSink, context, device, run_async, site
from tests.support.broker import Broker
from tests.support.ports import free_port

POLL = 0.1
UNKNOWN = "ffffffffffffffff"


class SlowContext(SimContext):
    """Answers every request, after ``delay`` seconds (a device busy, or a long line behind a gateway)."""

    delay = 0.8

    async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1) -> Any:  # noqa: N802
        await asyncio.sleep(self.delay)
        return await super().async_getValues(device_id, func_code, address, count)


async def _garbage_server(port: int) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(260):
            writer.write(b"\x00\x01\x00\x00\x00\x07\x01\x99garbage!")
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", port)


def _socat(a: Path, b: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


async def _wait_paths(*paths: Path) -> None:
    for _ in range(200):
        if all(p.exists() for p in paths):
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("socat did not make its ptys")


async def _modbus_scenario(tmp: Path) -> tuple[ListSink, list[dict[str, Any]], float]:
    ports = {name: free_port() for name in ("ok", "silent", "exception", "slow", "garbage")}
    units = make_units({1: "eastron_sdm120", 2: "streetlight_cabinet_4c"})
    silent, failing = make_units({1: "traffic_counter"}), make_units({1: "traffic_counter"})
    silent[1].mode, failing[1].mode = "silent", "exception"
    slow = ModbusTcpServer(SlowContext(make_units({1: "traffic_counter"})), address=("127.0.0.1", ports["slow"]),
                           ignore_missing_devices=True)
    await slow.serve_forever(background=True)
    servers = [await start_tcp(units, ports["ok"]), await start_tcp(silent, ports["silent"]),
               await start_tcp(failing, ports["exception"]), slow]
    garbage = await _garbage_server(ports["garbage"])
    agent_end, device_end = tmp / "ttyAgent", tmp / "ttyDevice"
    socat = _socat(agent_end, device_end)
    await _wait_paths(agent_end, device_end)
    rtu_units = make_units({1: "eastron_sdm120", 2: "traffic_counter"})
    rtu_units[2].mode = "garbled"
    rtu = await start_rtu(rtu_units, str(device_end), baudrate=19200, parity="N")
    tcp = {name: {"host": "127.0.0.1", "port": port, "unit": 1, "poll_interval": POLL} for name, port in ports.items()}
    config = site([
        device("meter", "eastron_sdm120", **tcp["ok"]),
        device("cabinet", "streetlight_cabinet_4c", **{**tcp["ok"], "unit": 2}),
        device("dead", "traffic_counter", **tcp["silent"]),
        device("refusing", "traffic_counter", **tcp["exception"]),
        device("slow", "traffic_counter", **tcp["slow"]),
        device("babbling", "traffic_counter", **tcp["garbage"]),
        device("rtu-meter", "eastron_sdm120", bus="line", unit=1, poll_interval=0.2),
        device("rtu-noisy", "traffic_counter", bus="line", unit=2, poll_interval=0.2),
    ], {"buses": [{"name": "line", "port": str(agent_end), "baudrate": 19200, "parity": "N", "timeout": 0.15,
                   "adapter_latency": 0}],
        "tcp_timeout": 0.5, "backoff": {"initial": 0.3, "maximum": 1.0, "offline_after": 2}})
    sink = ListSink()
    service = build_service(context(config, sink))
    assert service is not None
    await service.start()
    await asyncio.sleep(3.0)
    socat.terminate()  # the USB adapter is pulled out: both ptys vanish
    socat.wait()
    await rtu.shutdown()
    await asyncio.sleep(2.0)
    socat = _socat(agent_end, device_end)  # ... and put back: new ptys at the same paths
    await _wait_paths(agent_end, device_end)
    rtu = await start_rtu(rtu_units, str(device_end), baudrate=19200, parity="N")
    back_at = asyncio.get_running_loop().time()
    await asyncio.sleep(4.0)
    status = service.devices_status()
    await service.stop()
    await rtu.shutdown()
    socat.terminate()
    socat.wait()
    for server in servers:
        await server.shutdown()
    garbage.close()
    return sink, status, back_at


def test_bad_modbus_devices_and_a_pulled_serial_adapter_never_slow_the_healthy_devices(tmp_path: Path) -> None:
    """Promise: with devices that are silent, refuse (exception 4), answer in 0.8 s, answer garbage, or send bad
    CRCs, and the RS-485 adapter pulled out for 2 s, the healthy TCP devices keep their 0.1 s poll rate and the
    healthy RTU device resumes once the adapter is back."""
    pytest.importorskip("serial")
    if subprocess.run(["which", "socat"], capture_output=True, check=False).returncode:
        pytest.skip("socat is not installed")
    sink, status, back_at = run_async(_modbus_scenario(tmp_path), timeout=60)
    by_name = {s["name"]: s for s in status}
    gaps = {name: statistics.median(b - a for a, b in itertools.pairwise(sink.times(name)))
            for name in ("meter", "cabinet")}
    polls = {name: len(sink.readings(name)) for name in ("meter", "cabinet")}
    after = [t for t in sink.times("rtu-meter") if t > back_at]
    figures.record("modbus device faults", promise="healthy devices keep their poll rate, the bus comes back",
                   faults=6, checked=sum(polls.values()), lost=0, duplicated=0,
                   median_gap_s={k: round(v, 3) for k, v in gaps.items()}, healthy_polls=polls,
                   rtu_polls_after_replug=len(after))
    for name in ("meter", "cabinet"):
        assert polls[name] >= 0.6 * 9.0 / POLL, f"PROMISE BROKEN: {name} polled {polls[name]} times in 9 s"
        assert gaps[name] < 2 * POLL, f"PROMISE BROKEN: {name} median gap {gaps[name]:.3f} s"
    for name in ("dead", "refusing", "slow", "babbling", "rtu-noisy"):
        assert by_name[name]["online"] is False, f"{name} should be reported offline: {by_name[name]}"
    assert len(after) >= 5, f"PROMISE BROKEN: the RTU meter polled {len(after)} times after the adapter came back"


def test_chirpstack_garbage_never_stops_good_uplinks(tmp_path: Path, broker: Broker) -> None:
    """Promise: malformed JSON, wrong types, unknown devices, binary junk and a 1 MB message among good uplinks are
    counted and never crash the LoRaWAN service nor cost one good uplink."""
    sink = StoreSink(tmp_path / "store.db")
    eui = "0004a30b00ff1e01"
    config = lorawan_site(broker.port, [{"driver": "lorawan", "name": "counter", "dev_eui": eui,
                                         "codec": "parametric_pcr2", "uplink_interval": 60}])
    from edge_agent.demo.chirpstack_sim import sample_frames

    f_port, frame = sample_frames("parametric_pcr2")[0]
    def junk(index: int) -> tuple[str, bytes]:
        """One bad message of seven kinds; JSON ones get a fresh deduplicationId so none is a mere duplicate."""
        good = uplink_event(eui, frame.hex(), f_cnt=10_000 + index, f_port=f_port)
        kinds: list[tuple[str, bytes]] = [
            (event_topic(eui, "up"), b"{not json"),
            (event_topic(eui, "up"), json.dumps({**good, "fCnt": "many", "fPort": [1], "data": 42}).encode()),
            (event_topic(UNKNOWN, "up"),
             json.dumps(uplink_event(UNKNOWN, frame.hex(), f_cnt=index, f_port=f_port)).encode()),
            (event_topic(eui, "up"), bytes(range(256))),
            (event_topic(eui, "up"), b'{"deviceInfo": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
            (event_topic(eui, "up"), json.dumps({**good, "data": "A" * 1_000_000}).encode()),
            (event_topic(eui, "up"), b""),
        ]
        return kinds[index % len(kinds)]

    async def scenario() -> dict[str, object]:
        service = make_service(config, sink)
        await service.start()
        publisher = Publisher(broker.port)
        try:
            await wait_connected(service)
            for f_cnt in range(1, 61):
                event = uplink_event(eui, frame.hex(), f_cnt=f_cnt, f_port=f_port)
                await publisher.asend(event_topic(eui, "up"), json.dumps(event).encode())
                topic, payload = junk(f_cnt)
                await publisher.asend(topic, payload)
            await async_wait_until(lambda: len(_f_cnts(sink)) >= 60, timeout=30)
            return service.health()
        finally:
            publisher.close()
            await service.stop()

    health = run_async(scenario(), timeout=60)
    counts = _f_cnts(sink)
    figures.record("chirpstack garbage", promise="bad messages counted, no good uplink lost",
                   faults=60, checked=60, lost=60 - len(set(counts)), duplicated=len(counts) - len(set(counts)),
                   counters=health.get("counters"))
    sink.close()
    assert sorted(set(counts)) == list(range(1, 61)), "PROMISE BROKEN: a good uplink was lost among the garbage"
    assert health["internal_errors"] == 0, f"the service hit internal errors: {health}"


def _f_cnts(sink: StoreSink) -> list[int]:
    return [int(r.value) for r in sink.records()  # type: ignore[arg-type]
            if isinstance(r, Reading) and r.point == "lorawan.f_cnt"]
