"""The project's Modbus RTU client (edge_agent/modbus/rtu.py): its framing as pure functions, then its I/O on one
end of a socat pty pair, a hand-written peer on the other end sending frames as a device would (or would not)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from edge_agent.modbus.adapter import ModbusFailure, ModbusLink, SerialParams
from edge_agent.modbus.rtu import RtuClient, adu, answer_length, crc16, find_answer, frame_silence
from edge_agent.modbus.tcp import TcpFailure
from tests.modbus.helpers import run_async, socat_pair

BAUD = 19200


@pytest.mark.parametrize(("data", "crc"), [
    ("0207", 0x1241),  # Modbus over Serial Line V1.02, the CRC generation example: sent 41 12
    ("01030000000a", 0xCDC5),  # a read of 10 holding registers of unit 1: 01 03 00 00 00 0A C5 CD on the wire
    (b"123456789".hex(), 0x4B37),  # CRC-16/MODBUS's check value
])
def test_crc16_vectors(data: str, crc: int) -> None:
    assert crc16(bytes.fromhex(data)) == crc


def test_the_crc_goes_low_byte_first() -> None:
    assert adu(1, bytes.fromhex("030000000a")).hex() == "01030000000ac5cd"
    assert adu(2, b"\x07").hex() == "02074112"


def test_crc16_agrees_with_pymodbus_framer() -> None:
    from pymodbus.framer import FramerRTU  # an independent implementation (the simulator's library)

    for frame in (b"\x11\x03\x00\x6b\x00\x03", bytes(range(40)), b"\xff" * 7):
        assert adu(frame[0], frame[1:])[-2:] == FramerRTU.compute_CRC(frame).to_bytes(2, "big")


@pytest.mark.parametrize(("frame", "function", "length"), [
    ("01", 3, None),  # the function code has not come
    ("0103", 3, None),  # nor the byte count
    ("010314", 3, 25),  # unit, function, count, 20 bytes, CRC
    ("010101", 1, 6),
    ("0106", 6, 8),  # write single register: echo of address and value
    ("0105", 5, 8),
    ("0110", 16, 8),  # write multiple: address and quantity
    ("0183", 3, 5),  # exception: unit, function | 0x80, code, CRC
    ("0190", 16, 5),
    ("0104", 3, 0),  # another function's: not an answer to this request
])
def test_answer_length_from_the_function_code(frame: str, function: int, length: int | None) -> None:
    assert answer_length(bytes.fromhex(frame), function) == length


def test_find_answer_takes_a_whole_frame_with_a_good_crc_only() -> None:
    frame = adu(1, bytes.fromhex("0304000a0014"))
    assert find_answer(frame, 1, 3) == (bytes.fromhex("0304000a0014"), 9)
    assert find_answer(frame[:-1], 1, 3) is None, "a frame split across reads waits for its end"
    assert find_answer(frame[:-1] + bytes([frame[-1] ^ 0xFF]), 1, 3) is None, "bad CRC"
    assert find_answer(frame, 2, 3) is None, "another unit's"
    assert find_answer(frame, 1, 4) is None, "another function's"
    assert find_answer(b"\x00\x01" + frame, 1, 3) == (bytes.fromhex("0304000a0014"), 11), "noise before it"
    echo = adu(1, bytes.fromhex("030000000a"))  # an adapter echoing the request back
    assert find_answer(echo + frame + b"\x01", 1, 3) == (bytes.fromhex("0304000a0014"), 17)
    assert find_answer(adu(1, b"\x83\x02"), 1, 3) == (b"\x83\x02", 5), "an exception answer"


def test_frame_silence() -> None:
    assert frame_silence(9600) == pytest.approx(3.5 * 11 / 9600)
    assert frame_silence(115200) == 0.00175


# -- on a pty pair --------------------------------------------------------------------------------------------

Peer = Callable[[int], Awaitable[None]]  # what the device end does, given its descriptor


async def _request(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            data += os.read(fd, size - len(data))
        except BlockingIOError:
            await asyncio.sleep(0.002)
    return data


def _with_peer(tmp_path: Path, peer: Peer, scenario: Callable[[str], Awaitable[object]]) -> object:
    with socat_pair(tmp_path) as (agent_end, device_end):
        async def run() -> object:
            fd = os.open(device_end, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            task = asyncio.create_task(peer(fd))
            try:
                return await scenario(agent_end)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                os.close(fd)

        return run_async(run(), timeout=20)


def _read_regs(count: int = 2, timeout: float = 0.3) -> Callable[[str], Awaitable[object]]:
    async def scenario(port: str) -> object:
        link = ModbusLink(serial=SerialParams(port, BAUD, "N"))
        try:
            return await link.read(1, "holding", 0, count, timeout)
        except ModbusFailure as exc:
            return exc, link.frames
        finally:
            link.close()

    return scenario


def test_an_answer_split_across_reads_is_put_together(tmp_path: Path) -> None:
    async def peer(fd: int) -> None:
        request = await _request(fd, 8)
        assert request == adu(1, bytes.fromhex("030000 0002".replace(" ", "")))
        answer = adu(1, bytes.fromhex("0304002a0007"))
        os.write(fd, answer[:3])
        await asyncio.sleep(0.05)
        os.write(fd, answer[3:])

    assert _with_peer(tmp_path, peer, _read_regs()) == [42, 7]


def test_a_bad_crc_is_a_bad_frame_and_silence_a_timeout(tmp_path: Path) -> None:
    async def noisy(fd: int) -> None:
        await _request(fd, 8)
        answer = adu(1, bytes.fromhex("0304002a0007"))
        os.write(fd, answer[:-1] + bytes([answer[-1] ^ 0xFF]))

    async def silent(fd: int) -> None:
        await asyncio.sleep(10)

    failure, frames = _with_peer(tmp_path, noisy, _read_regs())  # type: ignore[misc]
    assert isinstance(failure, ModbusFailure) and failure.kind == "bad_frame", failure
    assert [frame.sent for frame in frames] == [True, False] and len(bytes.fromhex(frames[1].hex)) == 9
    failure, frames = _with_peer(tmp_path, silent, _read_regs())  # type: ignore[misc]
    assert isinstance(failure, ModbusFailure) and failure.kind == "timeout", failure
    assert [frame.sent for frame in frames] == [True]


def test_an_exception_answer_and_a_short_read(tmp_path: Path) -> None:
    async def faulty(fd: int) -> None:
        await _request(fd, 8)
        os.write(fd, adu(1, b"\x83\x02"))

    async def short(fd: int) -> None:
        await _request(fd, 8)
        os.write(fd, adu(1, bytes.fromhex("0302002a")))  # one register for two

    failure, _ = _with_peer(tmp_path, faulty, _read_regs())  # type: ignore[misc]
    assert isinstance(failure, ModbusFailure) and (failure.kind, failure.code) == ("exception", 2)
    failure, _ = _with_peer(tmp_path, short, _read_regs())  # type: ignore[misc]
    assert isinstance(failure, ModbusFailure) and failure.kind == "bad_frame", failure


def test_writes_and_coils_and_stale_input_dropped_before_sending(tmp_path: Path) -> None:
    requests: list[bytes] = []

    async def peer(fd: int) -> None:
        request = await _request(fd, 13)  # FC16, two registers
        requests.append(request)
        os.write(fd, adu(1, request[1:6]))
        os.write(fd, adu(1, bytes.fromhex("0304000a000b")))  # a stray late frame after the answer
        await asyncio.sleep(0.05)
        request = await _request(fd, 8)
        requests.append(request)
        os.write(fd, adu(1, bytes.fromhex("010105")))  # coils 0..2: on, off, on

    async def scenario(port: str) -> object:
        link = ModbusLink(serial=SerialParams(port, BAUD, "N"))
        try:
            await link.write(1, "holding", 10, [1, 2], 0.3)
            await asyncio.sleep(0.1)
            return await link.read(1, "coil", 0, 3, 0.3), link.frames
        finally:
            link.close()

    bits, frames = _with_peer(tmp_path, peer, scenario)  # type: ignore[misc]
    assert bits == [True, False, True]
    assert requests[0] == adu(1, bytes.fromhex("1000 0a00 0204 0001 0002".replace(" ", "")))
    stale = [frame for frame in frames if not frame.sent and frame.hex.startswith("0103")]
    assert stale, "the stray frame is kept in the trace, never taken for the read's answer"


def test_the_port_gone_is_a_connect_failure(tmp_path: Path) -> None:
    async def run() -> tuple[str, str]:
        with socat_pair(tmp_path) as (agent_end, _):
            client = RtuClient(agent_end, baudrate=BAUD, parity="N")
            client.open()
        # socat is gone: the pty's other end closed
        try:
            await client.request(1, bytes.fromhex("0300000001"), 0.5)
        except TcpFailure as exc:
            first = exc.kind
        else:
            first = "answered"
        client.close()
        missing = RtuClient(str(tmp_path / "nope"), baudrate=BAUD)
        try:
            missing.open()
        except TcpFailure as exc:
            return first, exc.kind
        return first, "opened"

    assert run_async(run(), timeout=20) == ("connect", "connect")
