"""The Modbus service on an RTU bus: real pymodbus RTU server on one end of a socat pty pair.

Five units share the line: a meter and a cabinet that answer, one dead (silent, as a powered-off
RS-485 device is), one answering every request with exception code 4, one whose replies arrive with a
bad CRC (line noise).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import statistics
from pathlib import Path
from typing import Any

from edge_agent.modbus.modbus_service import build_service
from edge_agent.modbus.simulator import make_units, start_rtu
from edge_agent.reading import Reading
from tests.modbus.helpers import ListSink, context, device, run_async, site, socat_pair

BAUD = 19200


def _site(port: str) -> Any:
    bus = {"name": "rs485", "port": port, "baudrate": BAUD, "parity": "N", "timeout": 0.15, "adapter_latency": 0}
    return site(
        [
            device("meter", "eastron_sdm120", bus="rs485", unit=1, poll_interval=0.2),
            device("cabinet", "streetlight_cabinet_4c", bus="rs485", unit=2, poll_interval=0.2),
            device("dead", "traffic_counter", bus="rs485", unit=3, poll_interval=0.2),
            device("faulty", "traffic_counter", bus="rs485", unit=4, poll_interval=0.2),
            device("noisy", "traffic_counter", bus="rs485", unit=5, poll_interval=0.2),
        ],
        {"buses": [bus], "backoff": {"initial": 0.5, "maximum": 2.0, "offline_after": 2}},
    )


def test_rtu_bus_with_dead_faulty_and_noisy_units(tmp_path: Path) -> None:
    with socat_pair(tmp_path) as (agent_end, device_end):
        sink, status, writes, units = run_async(_scenario(agent_end, device_end))

    for name, points in (("meter", 14), ("cabinet", 26)):
        batches = sink.readings(name)
        first = batches[0][0].point  # a poll's first block's first point: one per poll
        times = [t for t, batch in sink.batches if any(isinstance(r, Reading) and r.device == name
                                                       and r.point == first for r in batch)]
        # 20 polls would be ideal; the dead and noisy units' timeouts hold the line too, until backed off
        assert len(times) >= 12, f"{name}: {len(times)} polls in 4 s at 0.2 s"
        per_point = collections.Counter(r.point for batch in batches for r in batch)
        assert len(per_point) == points and max(per_point.values()) - min(per_point.values()) <= 1, per_point
        assert max(len(batch) for batch in batches) < points, \
            "on a serial line each block's readings go as soon as decoded, not after the bus's round"
        assert statistics.median([b - a for a, b in itertools.pairwise(times)]) < 0.3

    by_name = {s["name"]: s for s in status}
    assert by_name["dead"]["online"] is False and by_name["dead"]["errors"]["timeout"] >= 2
    assert by_name["faulty"]["online"] is False and by_name["faulty"]["errors"]["exception"] >= 2
    assert by_name["noisy"]["online"] is False and by_name["noisy"]["errors"]["bad_frame"] >= 2
    assert by_name["meter"]["errors"] == {} and by_name["cabinet"]["errors"] == {}
    assert [e.kind for e in sink.events("dead")] == ["device_offline"]
    assert [e.kind for e in sink.events("faulty")] == ["device_offline"]
    assert by_name["dead"]["polls"] <= 8, "the dead unit is backed off"

    ok, rejected, failed = writes
    assert ok.ok and ok.read_back == 30, ok
    assert units[2].tables["holding"][2] == 30
    assert not rejected.ok and "above the maximum" in rejected.reason
    assert not failed.ok and "timeout" in failed.reason


async def _scenario(agent_end: str, device_end: str) -> Any:
    units = make_units({1: "eastron_sdm120", 2: "streetlight_cabinet_4c", 4: "traffic_counter",
                        5: "traffic_counter"})
    units[4].mode = "exception"  # unit 3 is absent: the server stays silent for it
    units[5].mode = "garbled"
    server = await start_rtu(units, device_end, baudrate=BAUD, parity="N")
    sink = ListSink()
    service = build_service(context(_site(agent_end), sink))
    assert service is not None
    await service.start()
    await asyncio.sleep(4.0)
    writes = (
        await service.write_point("cabinet", "circuit3_level", 30),
        await service.write_point("cabinet", "circuit3_level", 130),
        await service.write_point("dead", "counting_interval", 60),
    )
    status = service.devices_status()
    await service.stop()
    await server.shutdown()
    return sink, status, writes, units
