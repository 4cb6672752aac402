"""The lean Modbus TCP client: answers matched by transaction id; against a real pymodbus server, exception codes
and reconnection after the server went away."""

from __future__ import annotations

import asyncio
import struct
import tracemalloc

import pytest

from edge_agent.modbus.adapter import ModbusFailure, ModbusLink
from edge_agent.modbus.simulator import make_units, start_tcp
from tests.faults.rig import ModbusFleet
from tests.modbus.helpers import run_async
from tests.support.memory import traced
from tests.support.ports import free_port


async def _late_device(port: int, delays: dict[int, float]) -> asyncio.Server:
    """A device answering read-input-register requests after ``delays[n]`` s for its n-th request (1-based), each
    with its own transaction id; register i holds 1000 + i. A stand-in written here because pymodbus's server,
    asked again before it answered, labels its late answer with the newer request's transaction id."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = 0
        while True:
            try:
                request = await reader.readexactly(12)
            except asyncio.IncompleteReadError:
                break
            seen += 1
            tid, _, _, unit, function, start, count = struct.unpack(">HHHBBHH", request)
            words = [1000 + start + i for i in range(count)]
            answer = struct.pack(f">HHHBBB{count}H", tid, 0, 3 + 2 * count, unit, function, 2 * count, *words)
            asyncio.get_running_loop().call_later(delays.get(seen, 0.0), writer.write, answer)
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", port)


def test_a_late_answer_is_never_taken_for_the_next_request() -> None:
    async def scenario() -> tuple[str, list[int] | list[bool], list[int] | list[bool]]:
        port = free_port()
        server = await _late_device(port, {1: 0.6, 2: 0.8})  # the first answer comes while the second waits
        link = ModbusLink(host="127.0.0.1", port=port)
        try:
            with pytest.raises(ModbusFailure) as late:
                await link.read(1, "input", 0, 2, timeout=0.2)
            second = await link.read(1, "input", 70, 2, timeout=1.5)
            third = await link.read(1, "input", 5, 1, timeout=1.0)
        finally:
            link.close()
            server.close()
        return late.value.kind, second, third

    kind, second, third = run_async(scenario())
    assert kind == "timeout"
    assert second == [1070, 1071], "the answer to the request that timed out was taken for this one"
    assert third == [1005]


def test_exception_answers_and_a_server_that_comes_back() -> None:
    async def scenario() -> tuple[ModbusFailure, ModbusFailure, list[int] | list[bool]]:
        port = free_port()
        units = make_units({1: "traffic_counter"})
        units[1].mode = "exception"
        server = await start_tcp(units, port)
        link = ModbusLink(host="127.0.0.1", port=port)
        try:
            with pytest.raises(ModbusFailure) as refused:
                await link.read(1, "holding", 0, 2, timeout=1.0)
            await server.shutdown()  # type: ignore[no-untyped-call]
            with pytest.raises(ModbusFailure) as gone:
                for _ in range(3):  # the first may still find the socket open
                    await link.read(1, "holding", 0, 2, timeout=0.5)
            units[1].mode = "ok"
            server = await start_tcp(units, port)
            bits = await link.read(1, "coil", 0, 1, timeout=1.0)
        finally:
            link.close()
            await server.shutdown()  # type: ignore[no-untyped-call]
        return refused.value, gone.value, bits

    refused, gone, bits = run_async(scenario())
    assert (refused.kind, refused.code) == ("exception", 4)
    assert "exception 4 (server device failure)" in str(refused)
    assert gone.kind == "connect"
    assert bits in ([False], [True])


def test_each_request_times_out_at_its_own_deadline_on_one_connection() -> None:
    """One timer per connection serves every request in flight on it: a short timeout asked after a long one
    still fails on time, the long one waits its whole timeout, and answers in time never fail afterwards."""
    from edge_agent.modbus.tcp import TcpClient, read_pdu

    async def scenario() -> tuple[float, float, list[bytes]]:
        port = free_port()
        server = await _late_device(port, {1: 5.0, 2: 5.0})  # the first two are never answered in time
        client = TcpClient("127.0.0.1", port)
        await client.connect(1.0)
        loop = asyncio.get_running_loop()
        try:
            began = loop.time()

            async def timed(timeout: float) -> float:
                with pytest.raises(TimeoutError):
                    await client.request(1, read_pdu(4, 0, 1), timeout)
                return loop.time() - began

            long = asyncio.ensure_future(timed(1.2))
            await asyncio.sleep(0.05)
            short = await timed(0.3)
            answers = [await client.request(1, read_pdu(4, start, 1), 0.5) for start in range(3)]
            await asyncio.sleep(0.6)  # past the answered requests' deadlines: nothing fails late
            waited = await long
        finally:
            client.close()
            server.close()
        return short, waited, answers

    short, waited, answers = run_async(scenario())
    assert 0.3 <= short < 0.8, short
    assert 1.2 <= waited < 1.8, waited
    assert [answer[2:] for answer in answers] == [struct.pack(">H", 1000 + start) for start in range(3)]


async def _awkward_device(port: int) -> asyncio.Server:
    """A device that answers read-input-register requests (register i holds 1000 + i) in awkward ways, by the
    first register asked (the client opens a new connection after a failure): 0, its answer in three writes, cut
    inside the header and inside the data; 10, a frame that is not Modbus instead of its answer; 20, an answer to a
    transaction never asked and the start of its own in one write, the rest of its own in another; 30, its answer
    labelled with another unit; any other, plainly."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await reader.readexactly(12)
            except asyncio.IncompleteReadError:
                break
            tid, _, _, unit, function, start, count = struct.unpack(">HHHBBHH", request)
            data = struct.pack(f">B{count}H", 2 * count, *(1000 + start + i for i in range(count)))

            def answer(tid: int, unit: int, function: int = function, data: bytes = data) -> bytes:
                return struct.pack(">HHHBB", tid, 0, 2 + len(data), unit, function) + data

            if start == 0:
                whole = answer(tid, unit)
                for piece in (whole[:3], whole[3:10], whole[10:]):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.05)
            elif start == 10:
                writer.write(struct.pack(">HHHB", tid, 7, 3, unit) + b"\x04\x02\x00")  # protocol id 7
            elif start == 20:
                own = answer(tid, unit)
                writer.write(answer((tid + 100) & 0xFFFF, unit) + own[:5])
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(own[5:])
            elif start == 30:
                writer.write(answer(tid, unit + 1))
            else:
                writer.write(answer(tid, unit))
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", port)


def test_answers_cut_short_joined_or_preceded_by_junk_each_reach_their_request() -> None:
    """The connection's read buffer keeps a frame cut short until the rest comes (also behind a whole frame read
    with it), drops what is not Modbus (never taken for an answer) and frames that answer nothing asked."""

    async def scenario() -> tuple[list[list[int] | list[bool]], ModbusFailure, ModbusFailure,
                                  list[int] | list[bool]]:
        port = free_port()
        server = await _awkward_device(port)
        link = ModbusLink(host="127.0.0.1", port=port)
        try:
            answered = [await link.read(1, "input", 0, 3, timeout=1.0)]
            with pytest.raises(ModbusFailure) as junk:
                await link.read(1, "input", 10, 3, timeout=0.3)
            answered.append(await link.read(1, "input", 20, 3, timeout=1.0))
            with pytest.raises(ModbusFailure) as wrong_unit:
                await link.read(1, "input", 30, 1, timeout=1.0)
            after = await link.read(1, "input", 40, 2, timeout=1.0)
        finally:
            link.close()
            server.close()
        return answered, junk.value, wrong_unit.value, after

    answered, junk, wrong_unit, after = run_async(scenario())
    assert answered == [[1000, 1001, 1002], [1020, 1021, 1022]]
    assert (junk.kind, str(junk)) == ("bad_frame", "unit 1: 10 bytes but no valid frame (CRC?)"), (
        "a frame that is not Modbus was taken for the answer")
    assert wrong_unit.kind == "bad_frame"
    assert "unit 2" in str(wrong_unit)
    assert after == [1040, 1041]


def test_answers_are_read_into_the_connections_own_buffer_not_a_large_object_per_read() -> None:
    """Promise: a poll's answers are read into the connection's own buffer. asyncio gives a plain protocol a new
    256 KiB object for every read; shrunk to the answer's few bytes and kept in the frames' trace, those left holes
    in the heap that the next 256 KiB did not fit, and the daemon's memory grew for an hour of polling. The device
    runs in a process of its own, so that only the client's allocations are traced here."""

    async def scenario(port: int) -> tuple[int, int, int]:
        link = ModbusLink(host="127.0.0.1", port=port)
        try:
            await link.read(1, "input", 0, 10, timeout=2.0)  # connected, every code path run once
            with traced():
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
                answered = [await link.read(1, "input", 0, 10, timeout=2.0) for _ in range(50)]
                peak = tracemalloc.get_traced_memory()[1]
        finally:
            link.close()
        return len(answered), before, peak

    device = ModbusFleet(1)  # an eastron_sdm120, unit 1, in a process of its own
    try:
        answered, before, peak = run_async(scenario(device.ports[0]))
    finally:
        device.close()
    assert answered == 50
    assert peak - before < 64 * 1024, f"50 reads took {peak - before} bytes at their peak"
