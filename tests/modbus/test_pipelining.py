"""Several Modbus TCP requests in flight on one connection (``max_in_flight``), against real pymodbus servers: the
simulator's, which takes requests sent together, and pymodbus's own, which does not (hence the default of one)."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from edge_agent.device_state import ModbusDeviceStatus
from edge_agent.modbus.adapter import ModbusFailure, ModbusLink, Values
from edge_agent.modbus.bus import Line
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.modbus_service import ModbusService, build_service
from edge_agent.modbus.simulator import make_units, start_tcp
from edge_agent.reading import Reading
from tests.modbus.helpers import ListSink, context, device, run_async, site
from tests.support.ports import free_port

BACKOFF = {"initial": 0.2, "maximum": 0.4, "offline_after": 2}


def _service(sink: ListSink, devices: list[dict[str, object]]) -> ModbusService:
    service = build_service(context(site(devices, {"backoff": BACKOFF, "tcp_timeout": 0.3}), sink))
    assert service is not None
    return service


def test_requests_sent_together_each_get_their_own_answer() -> None:
    async def scenario() -> tuple[list[Values | ModbusFailure], list[Values | ModbusFailure]]:
        port = free_port()
        units = make_units({1: "traffic_counter", 2: "traffic_counter"})
        units[1].set_registers("holding", 0, [11, 12, 13])
        units[1].set_registers("input", 40, [401, 402])
        units[2].set_registers("holding", 0, [21, 22, 23])
        server = await start_tcp(units, port, pipelining=True)
        link = ModbusLink(host="127.0.0.1", port=port)
        try:
            first = await link.read_many(1, [("holding", 0, 3), ("input", 40, 2), ("holding", 1020, 10),
                                             ("holding", 1, 1)], timeout=1.0)
            second = await link.read_many(2, [("holding", 0, 2), ("holding", 2, 1)], timeout=1.0)
        finally:
            link.close()
            await server.shutdown()  # type: ignore[no-untyped-call]
        return first, second

    first, second = run_async(scenario())
    assert first[0] == [11, 12, 13]
    assert first[1] == [401, 402]
    assert isinstance(first[2], ModbusFailure) and (first[2].kind, first[2].code) == ("exception", 2)
    assert first[3] == [12], "an exception answer in the middle must not shift the answers after it"
    assert second == [[21, 22], [23]]


def test_pymodbus_own_server_does_not_answer_requests_sent_together() -> None:
    """Why pipelining is a per-device option, off by default: a server that takes one request at a time (here
    pymodbus's own) leaves the others unanswered; they time out, and the connection is made again after."""

    async def scenario() -> tuple[list[Values | ModbusFailure], Values]:
        port = free_port()
        units = make_units({1: "traffic_counter"})
        units[1].set_registers("holding", 0, [7, 8])
        server = await start_tcp(units, port)
        link = ModbusLink(host="127.0.0.1", port=port)
        try:
            together = await link.read_many(1, [("holding", 0, 1), ("holding", 1, 1), ("holding", 0, 2)],
                                            timeout=0.4)
            alone = await link.read(1, "holding", 0, 2, timeout=1.0)
        finally:
            link.close()
            await server.shutdown()  # type: ignore[no-untyped-call]
        return together, alone

    together, alone = run_async(scenario())
    assert together[0] == [7]
    late = [answer for answer in together[1:] if isinstance(answer, ModbusFailure)]
    assert late and all(failure.kind == "timeout" for failure in late)
    assert alone == [7, 8]


def test_a_line_of_depth_four_runs_a_turn_of_three_beside_one_not_two() -> None:
    async def scenario() -> list[str]:
        line = Line(ModbusLink(host="127.0.0.1", port=1), depth=4)  # the link is only carried, never opened
        order: list[str] = []
        release = asyncio.Event()

        async def user(name: str, requests: int) -> None:
            async with line.transaction(requests):
                order.append(f"{name} in")
                await release.wait()
            order.append(f"{name} out")

        first = asyncio.create_task(user("a", 3))
        await asyncio.sleep(0)
        second = asyncio.create_task(user("b", 3))  # 3 + 3 > 4: waits for a
        third = asyncio.create_task(user("c", 1))  # would fit, but comes after b: first come, first served
        await asyncio.sleep(0.05)
        order.append("release")
        release.set()
        await asyncio.gather(first, second, third)
        assert line.transactions == 7
        return order

    order = asyncio.run(scenario())
    assert order[:2] == ["a in", "release"]
    assert order.index("b in") > order.index("a out")
    assert order.index("c in") > order.index("b in")


def test_a_cancelled_wait_for_a_turn_gives_nothing_away() -> None:
    async def scenario() -> bool:
        line = Line(ModbusLink(host="127.0.0.1", port=1), depth=2)
        async with line.transaction(2):
            waiting = asyncio.create_task(line.transaction(2).__aenter__())
            await asyncio.sleep(0.01)
            waiting.cancel()
            await asyncio.sleep(0.01)
        async with line.transaction(2):  # both turns are free again
            return True

    assert asyncio.run(scenario())


def test_devices_behind_one_gateway_polled_with_requests_in_flight_together() -> None:
    async def scenario() -> tuple[ListSink, dict[str, ModbusDeviceStatus], int, int]:
        port = free_port()
        units = make_units({1: "traffic_counter", 2: "traffic_counter", 3: "eastron_sdm120", 4: "traffic_counter"})
        units[1].set("counting_interval", 120)
        units[2].set("counting_interval", 240)
        units[4].mode = "silent"  # a dead device behind the gateway: the others must not suffer from it
        server = await start_tcp(units, port, pipelining=True)
        sink = ListSink()
        service = _service(sink, [
            device("c1", "traffic_counter", host="127.0.0.1", port=port, unit=1, poll_interval=0.1, max_in_flight=8),
            device("c2", "traffic_counter", host="127.0.0.1", port=port, unit=2, poll_interval=0.1, max_in_flight=8),
            device("m3", "eastron_sdm120", host="127.0.0.1", port=port, unit=3, poll_interval=0.1, max_in_flight=8),
            device("dead", "traffic_counter", host="127.0.0.1", port=port, unit=4, poll_interval=0.1,
                   max_in_flight=8),
        ])
        await service.start()
        await asyncio.sleep(2.0)
        status = {s["name"]: s for s in service.devices_status()}
        line_depth = service.poller("c1").line.depth
        await service.stop()
        await server.shutdown()  # type: ignore[no-untyped-call]
        return sink, status, line_depth, units[1].requests

    sink, status, depth, requests = run_async(scenario())
    assert depth == 8
    for name, points in (("c1", 13), ("c2", 13), ("m3", 14)):
        polls = sink.readings(name)
        assert len(polls) >= 12, f"{name} polled {len(polls)} times in 2 s at 0.1 s beside a dead device"
        assert all(len(batch) == points for batch in polls), "every point of every poll"
    values = {(r.device, r.point): r.value for batch in sink.readings("c1") + sink.readings("c2")
              for r in batch if isinstance(r, Reading)}
    assert values[("c1", "counting_interval")] == 120
    assert values[("c2", "counting_interval")] == 240, "each unit's answers went to its own poller"
    assert requests >= 3 * len(sink.readings("c1")), "the plan's three reads a poll"
    assert [e.kind for e in sink.events("dead")] == ["device_offline"]
    assert status["dead"]["errors"]["timeout"] >= 2
    assert status["c1"]["errors"] == {} and status["m3"]["errors"] == {}
    frames = status["c2"]["recent_frames"]
    assert {f[0] for f in frames} == {">", "<"}, "requests and answers both kept"
    assert all(f.split()[1][12:14] == "02" for f in frames), "each device's frames are its own unit's"


def test_a_shared_connection_takes_the_smallest_max_in_flight_and_rtu_takes_none() -> None:
    sink = ListSink()
    service = _service(sink, [
        device("a", "traffic_counter", host="127.0.0.1", port=1502, unit=1, max_in_flight=8),
        device("b", "traffic_counter", host="127.0.0.1", port=1502, unit=2, max_in_flight=3),
        device("c", "traffic_counter", host="127.0.0.1", port=1503, unit=1),
    ])
    assert service.poller("a").line is service.poller("b").line
    assert service.poller("a").line.depth == 3
    assert service.poller("c").line.depth == 1
    with pytest.raises(ValidationError, match="max_in_flight above 1 is for Modbus TCP"):
        ModbusDeviceConfig.model_validate(device("d", "traffic_counter", bus="rs485", max_in_flight=2))
