"""The Modbus service against real pymodbus TCP servers: polling, dead devices, backoff, writes."""

from __future__ import annotations

import asyncio
import itertools
import statistics
from collections.abc import Sequence

from edge_agent.errors import StoreError
from edge_agent.modbus.modbus_service import ModbusService, build_service
from edge_agent.modbus.simulator import SimUnit, make_units, start_tcp
from edge_agent.reading import Priority, Quality, Record
from tests.modbus.helpers import ListSink, context, device, run_async, site
from tests.support.ports import free_port

BACKOFF = {"initial": 0.2, "maximum": 0.4, "offline_after": 2}


def _service(sink: ListSink, devices: list[dict[str, object]]) -> ModbusService:
    service = build_service(context(site(devices, {"backoff": BACKOFF, "tcp_timeout": 0.3}), sink))
    assert service is not None
    return service


def test_no_modbus_device_no_service() -> None:
    assert build_service(context(site([]), ListSink())) is None


def test_dead_and_unreachable_devices_do_not_slow_the_others() -> None:
    async def scenario() -> tuple[ListSink, dict[int, SimUnit], list[dict[str, object]]]:
        live, dead_port, closed_port = free_port(), free_port(), free_port()
        units = make_units({1: "eastron_sdm120", 2: "streetlight_cabinet_4c"})
        dead = make_units({7: "traffic_counter"})
        dead[7].mode = "silent"  # accepts the connection, never answers: a hung device
        servers = [await start_tcp(units, live), await start_tcp(dead, dead_port)]
        sink = ListSink()
        service = _service(sink, [
            device("meter", "eastron_sdm120", host="127.0.0.1", port=live, unit=1, poll_interval=0.1),
            device("cabinet", "streetlight_cabinet_4c", host="127.0.0.1", port=live, unit=2, poll_interval=0.1),
            device("hung", "traffic_counter", host="127.0.0.1", port=dead_port, unit=7, poll_interval=0.1),
            device("gone", "traffic_counter", host="127.0.0.1", port=closed_port, unit=1, poll_interval=0.1),
        ])
        await service.start()
        await asyncio.sleep(2.0)
        dead[7].mode = "ok"  # the hung device recovers
        await asyncio.sleep(1.5)
        status = service.devices_status()
        await service.stop()
        for server in servers:
            await server.shutdown()
        return sink, units, status

    sink, units, status = run_async(scenario())
    meter = sink.readings("meter")
    assert len(meter) >= 20, f"meter polled {len(meter)} times in 3.5 s at 0.1 s"
    assert all(len(batch) == 14 for batch in meter), "one batch per cycle, every point in it"
    gaps = [b - a for a, b in itertools.pairwise(sink.times("meter"))]
    assert statistics.median(gaps) < 0.2
    assert len(sink.readings("cabinet")) >= 20
    assert units[1].requests <= 3 * len(meter) + 3, "the meter's plan is three reads a cycle"

    hung = sink.events("hung")
    assert [e.kind for e in hung] == ["device_offline", "device_online"]
    assert hung[0].priority is Priority.WARNING and "no answer" in hung[0].data["reason"]
    assert hung[1].priority is Priority.INFO
    assert len(sink.readings("hung")) >= 1

    gone = sink.events("gone")
    assert [e.kind for e in gone] == ["device_offline"]
    by_name = {s["name"]: s for s in status}
    assert by_name["gone"]["online"] is False and by_name["gone"]["errors"]["connect"] >= 2
    assert by_name["gone"]["polls"] < 15, "a failing device is backed off, not polled at full rate"
    assert by_name["meter"]["online"] is True and by_name["meter"]["errors"] == {}
    assert by_name["hung"]["errors"]["timeout"] >= 2
    assert by_name["meter"]["values"]["voltage"]["unit"] == "V"


def test_readings_carry_clock_and_quality_and_exception_units_are_counted() -> None:
    async def scenario() -> tuple[list[object], dict[str, object], ListSink]:
        port = free_port()
        units = make_units({1: "eastron_sdm120", 3: "eastron_sdm120"})
        units[1].set("voltage", 350.0)  # beyond the meter's range
        units[3].mode = "exception"
        server = await start_tcp(units, port)
        sink = ListSink()
        service = _service(sink, [
            device("meter", "eastron_sdm120", host="127.0.0.1", port=port, unit=1),
            device("broken", "eastron_sdm120", host="127.0.0.1", port=port, unit=3, poll_interval=0.05),
        ])
        readings = list(await service.read_device("meter"))
        await service.start()
        await asyncio.sleep(1.0)
        status = {s["name"]: s for s in service.devices_status()}["broken"]
        await service.stop()
        await server.shutdown()
        return readings, status, sink

    readings, status, sink = run_async(scenario())
    voltage = next(r for r in readings if r.point == "voltage")  # type: ignore[attr-defined]
    assert voltage.value == 350.0 and voltage.quality is Quality.UNCERTAIN and voltage.clock_synced
    assert status["online"] is False
    assert status["errors"]["exception"] >= 2  # type: ignore[index]
    assert "exception 4" in str(status["last_error"])
    assert [e.kind for e in sink.events("broken")] == ["device_offline"]
    assert status["recent_frames"], "raw frames are kept for diagnosis"


class FlakySink(ListSink):
    """Refuses its first two batches, as a store whose disk is momentarily full would."""

    async def submit(self, records: Sequence[Record]) -> list[int]:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls <= 2:
            raise StoreError("disk full")
        return await super().submit(records)


def test_polling_outlives_a_failing_store() -> None:
    async def scenario() -> tuple[FlakySink, dict[str, object]]:
        port = free_port()
        server = await start_tcp(make_units({1: "traffic_counter"}), port)
        sink = FlakySink()
        service = build_service(context(site([
            device("counter", "traffic_counter", host="127.0.0.1", port=port, poll_interval=0.05),
        ]), sink))
        assert service is not None
        await service.start()
        await asyncio.sleep(0.6)
        status = service.devices_status()[0]
        health = service.health()
        await service.stop()
        await server.shutdown()
        assert health["ok"] is True
        return sink, status

    sink, status = run_async(scenario())
    assert status["submit_failures"] == 2
    assert len(sink.readings("counter")) >= 5
