"""What CPU a point must cost at the peer workload in this runtime, whatever the agent does: the floor of each of
its three stages, each alone in a process of its own, against a real peer.

- ``poll``: 50 Modbus TCP connections to ``bench.sim``'s servers, every 0.1 s, the peer profile's read plan (its
  requests one at a time on each connection, as the agent by default); an asyncio ``BufferedProtocol`` that only
  finds where each answer ends: no check of the answer, no decoding, no reading made. (Buffered: a plain protocol
  has asyncio allocate 256 KB for each read, which in a process this small is an ``mmap``, an ``mremap`` and a
  ``munmap`` per answer, 6-9 µs a point of system time; the agent's allocator does not do that, its threshold for
  ``mmap`` being raised by what it frees at start, see docs/performance.md.)
- ``poll-callbacks``: the same polls on asyncio without a future, task or ``sleep``: each answer's callback sends
  the next request, the last one sets a timer for the next poll (``call_at``); what asyncio's transports and timers
  cost alone, for a Modbus TCP poller that would stay on the event loop as a state machine.
- ``poll-epoll``: the same polls without asyncio: non-blocking sockets, one ``select.epoll``, a heap of the
  devices' next polls; what a poll loop of its own would cost instead of asyncio's transports, futures and tasks.
- ``store``: the store's own table and settings (``edge_agent.store.database``: WAL, ``synchronous`` FULL), one
  ``executemany`` of the readings' rows per commit, five commits a second (the group commit's rate at that
  workload); each row's parameters made from a prepared list of names, as little as the store could do.
- ``upstream``: each reading's JSON (the wire format's fields) written with one f-string, a commit's readings in
  batches of 500 (``batch_max_records``), each published QoS 1 to a real Mosquitto over a plain socket, every
  PUBACK awaited before the next commit's batches.

CPU per point: the stage process's user and system time over the window (``getrusage``) by the points it handled.
The sum of poll, store and upstream is what the agent would cost if it did nothing but these three things, in its
design (asyncio); with poll-callbacks or poll-epoll instead of poll, in a design whose Modbus polling is a state
machine on the event loop, or runs a loop of its own.
docs/performance.md compares both with the 15 µs target ("The floor of CPU per point").

    python -m bench.cpu_floor [--seconds 15] [--warmup 3] [--stage poll|poll-callbacks|poll-epoll|store|upstream]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import resource
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import peer
from bench.common import Mosquitto
from bench.procs import Children, run_folder
from bench.scenario import Result

DEVICES, PERIOD = 50, 0.1
COMMITS_PER_S = 5
BATCH = 500


def _plan() -> tuple[list[tuple[int, int, int]], int]:
    """The peer profile's requests (function, start, count) as the agent plans them, and its points."""
    from edge_agent.modbus.adapter import READ_FUNCTION
    from edge_agent.modbus.plan import build_plan
    from edge_agent.modbus.profile import load_profile

    plan = build_plan(load_profile(peer.PROFILE))
    requests = [(READ_FUNCTION[block.table], block.start, block.count) for block in plan]
    return requests, sum(len(block.points) for block in plan)


def _request(function: int, start: int, count: int) -> bytes:
    """A read request's MBAP frame after its transaction id: protocol 0, length 6, unit 1, then the PDU."""
    from edge_agent.modbus.tcp import read_pdu

    return b"\x00\x00\x00\x06\x01" + read_pdu(function, start, count)


def _frames() -> tuple[list[bytes], int]:
    """The peer profile's requests as MBAP frames after their transaction id, and the points of one poll."""
    requests, points = _plan()
    return [_request(function, start, count) for function, start, count in requests], points


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Answers(asyncio.BufferedProtocol):
    """Bytes into one buffer; each whole MBAP frame wakes the request waiting on the connection."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self._buffer = bytearray(4096)
        self._view = memoryview(self._buffer)
        self._filled = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view[self._filled:]

    def buffer_updated(self, nbytes: int) -> None:
        self._filled += nbytes
        if self._filled < 6:
            return
        end = 6 + int.from_bytes(self._buffer[4:6], "big")
        if self._filled < end:
            return
        rest = self._filled - end
        self._buffer[:rest] = self._buffer[end:self._filled]
        self._filled = rest
        self.answered()

    def answered(self) -> None:
        """A whole answer came (one request is in flight at a time)."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _poll_device(port: int, frames: list[bytes], polls: list[int]) -> None:
    loop = asyncio.get_running_loop()
    _, answers = await loop.create_connection(_Answers, "127.0.0.1", port)
    assert answers.transport is not None
    tid, next_at = 0, loop.time()
    while True:
        for frame in frames:
            tid = (tid + 1) & 0xFFFF
            answers.waiter = loop.create_future()
            answers.transport.write(tid.to_bytes(2, "big") + frame)
            await answers.waiter
        polls[0] += 1
        next_at += PERIOD
        await asyncio.sleep(max(0.0, next_at - loop.time()))


async def _measured(polls: list[int], points: int, warmup: float, seconds: float) -> tuple[float, int]:
    """This process's CPU over ``seconds`` after ``warmup``, and the points polled meanwhile (``polls[0]`` counts
    whole polls)."""
    await asyncio.sleep(warmup)
    first, cpu = polls[0], _cpu()
    await asyncio.sleep(seconds)
    return _cpu() - cpu, (polls[0] - first) * points


async def _poll_window(base: int, warmup: float, seconds: float) -> tuple[float, int]:
    frames, points = _frames()
    polls = [0]
    tasks = [asyncio.create_task(_poll_device(base + i, frames, polls)) for i in range(DEVICES)]
    used, done = await _measured(polls, points, warmup, seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return used, done


def _against_servers(window: Callable[[int, float, float], tuple[float, int]], warmup: float,
                     seconds: float) -> tuple[float, int]:
    """``window(base port, warmup, seconds)`` with the simulated servers listening on base..base+49."""
    children = Children(run_folder("cpu-floor-"))
    try:
        return window(peer.start_servers(children, DEVICES, shared=False, pipelining=False), warmup, seconds)
    finally:
        children.close()


def stage_poll(warmup: float, seconds: float) -> tuple[float, int]:
    return _against_servers(lambda base, w, s: asyncio.run(_poll_window(base, w, s)), warmup, seconds)


class _Plan(_Answers):
    """A device's whole poll driven by its connection's callbacks: each answer sends the next request, the last
    one sets a timer (``call_at``) for the next poll. No future, task or ``sleep``: what asyncio's transports and
    timers cost alone."""

    def __init__(self, frames: list[bytes], polls: list[int]) -> None:
        super().__init__()
        self._frames = frames
        self._polls = polls
        self._step = self._tid = 0
        self._next_at = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._next_at = loop.time()
        self._send_first()

    def _send_first(self) -> None:
        self._step = 0
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self._tid = (self._tid + 1) & 0xFFFF
        self.transport.write(self._tid.to_bytes(2, "big") + self._frames[self._step])

    def answered(self) -> None:
        self._step += 1
        if self._step < len(self._frames):
            self._send()
            return
        self._polls[0] += 1
        loop = asyncio.get_running_loop()
        self._next_at = max(self._next_at + PERIOD, loop.time())
        loop.call_at(self._next_at, self._send_first)


async def _callbacks_window(base: int, warmup: float, seconds: float) -> tuple[float, int]:
    frames, points = _frames()
    loop, polls = asyncio.get_running_loop(), [0]
    plans = []
    for index in range(DEVICES):
        _, plan = await loop.create_connection(lambda: _Plan(frames, polls), "127.0.0.1", base + index)
        plans.append(plan)
    for plan in plans:
        plan.start()
    used, done = await _measured(polls, points, warmup, seconds)
    for plan in plans:
        if plan.transport is not None:
            plan.transport.close()
    return used, done


def stage_poll_callbacks(warmup: float, seconds: float) -> tuple[float, int]:
    return _against_servers(lambda base, w, s: asyncio.run(_callbacks_window(base, w, s)), warmup, seconds)


def _epoll_window(base: int, warmup: float, seconds: float) -> tuple[float, int]:
    """The same polls without asyncio: non-blocking sockets, one ``epoll`` and a heap of the devices' next polls."""
    frames, points = _frames()
    socks = [socket.create_connection(("127.0.0.1", base + i)) for i in range(DEVICES)]
    for sock in socks:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    by_fd = {sock.fileno(): index for index, sock in enumerate(socks)}
    step = [0] * DEVICES  # the request each device waits for
    buffers, filled = [bytearray(4096) for _ in socks], [0] * DEVICES
    poller = select.epoll()
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    tids = [0] * DEVICES

    def send(index: int) -> None:
        tids[index] = tid = (tids[index] + 1) & 0xFFFF
        socks[index].send(tid.to_bytes(2, "big") + frames[step[index]])

    try:
        start = time.monotonic()
        due = [(start, index) for index in range(DEVICES)]
        scheduled = [start] * DEVICES
        polls, first_polls, measuring_from, end = 0, 0, start + warmup, start + warmup + seconds
        cpu: float | None = None  # at the window's start
        while True:
            now = time.monotonic()
            if now >= end and cpu is not None:
                return _cpu() - cpu, (polls - first_polls) * points
            if cpu is None and now >= measuring_from:
                cpu, first_polls = _cpu(), polls
            while due and due[0][0] <= now:
                at, index = heapq.heappop(due)
                scheduled[index], step[index] = at, 0
                send(index)
            timeout = max(0.0, due[0][0] - now) if due else 0.1
            for fd, _ in poller.poll(timeout):
                index = by_fd[fd]
                buffer = buffers[index]
                got = socks[index].recv_into(memoryview(buffer)[filled[index]:])
                if not got:
                    raise ConnectionError(f"server {base + index} closed the connection")
                filled[index] += got
                if filled[index] < 6 or filled[index] < 6 + int.from_bytes(buffer[4:6], "big"):
                    continue
                filled[index] = 0
                step[index] += 1
                if step[index] < len(frames):
                    send(index)
                else:
                    polls += 1
                    heapq.heappush(due, (max(scheduled[index] + PERIOD, now), index))
    finally:
        poller.close()
        for sock in socks:
            sock.close()


def stage_poll_epoll(warmup: float, seconds: float) -> tuple[float, int]:
    return _against_servers(_epoll_window, warmup, seconds)


def _names() -> tuple[list[str], list[str]]:
    _, points = _plan()
    return [f"dev-{i:03d}" for i in range(DEVICES)], [f"point-{i:02d}" for i in range(points)]


def _paced(step: Callable[[int], int], warmup: float, seconds: float) -> tuple[float, int]:
    """Run ``step`` (which handles one commit's readings and says how many) at the commit rate; the CPU and the
    points of the window after ``warmup``."""
    _, points = _plan()
    per_commit = round(DEVICES * points / PERIOD / COMMITS_PER_S)
    next_at, done = time.monotonic(), 0
    measuring_from = next_at + warmup
    end = measuring_from + seconds
    cpu: float | None = None  # at the window's start
    while True:
        now = time.monotonic()
        if now >= end and cpu is not None:
            return _cpu() - cpu, done
        if cpu is None and now >= measuring_from:
            cpu = _cpu()
        handled = step(per_commit)
        if cpu is not None:
            done += handled
        next_at += 1 / COMMITS_PER_S
        time.sleep(max(0.0, next_at - time.monotonic()))


def stage_store(warmup: float, seconds: float) -> tuple[float, int]:
    from edge_agent.store.database import open_database, transaction
    from edge_agent.store.rows import INSERT_READING_SQL

    devices, names = _names()
    with tempfile.TemporaryDirectory(prefix="cpu-floor-store-") as folder:
        conn = open_database(Path(folder) / "store.db").conn
        first = [1]

        def commit(count: int) -> int:
            seq, ts, width = first[0], time.time(), len(names)
            rows = [(seq + i, ts, devices[i // width % DEVICES], names[i % width], 1.5, None, "V", 0, 1)
                    for i in range(count)]
            with transaction(conn):
                conn.executemany(INSERT_READING_SQL, rows)
            first[0] = seq + count
            return count

        try:
            return _paced(commit, warmup, seconds)
        finally:
            conn.close()


def _publish_all(sock: socket.socket, packets: list[bytes]) -> None:
    """Send the packets, then read until every one is acknowledged (a PUBACK is 4 bytes in MQTT 3.1.1)."""
    sock.sendall(b"".join(packets))
    expected, got = 4 * len(packets), 0
    while got < expected:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the broker closed the connection")
        got += len(data)


def stage_upstream(warmup: float, seconds: float) -> tuple[float, int]:
    from edge_agent.mqtt import packets as pk

    devices, names = _names()
    broker = Mosquitto.start()
    try:
        sock = socket.create_connection(("127.0.0.1", broker.port))
        sock.sendall(pk.encode_connect(pk.Connect(client_id="cpu-floor", clean=True)))
        if len(sock.recv(4)) != 4:
            raise ConnectionError("no CONNACK")
        state = {"seq": 1, "mid": 0}
        device_json = [json.dumps(name) for name in devices]
        name_json = [json.dumps(name) for name in names]

        def commit(count: int) -> int:
            seq, width = state["seq"], len(names)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            sent: list[bytes] = []
            for first in range(0, count, BATCH):
                records = ",".join(
                    f'{{"seq":{seq + i},"ts":"{stamp}","device":{device_json[i // width % DEVICES]},'
                    f'"point":{name_json[i % width]},"value":{1.5!r},"unit":"V","quality":"good"}}'
                    for i in range(first, min(count, first + BATCH)))
                payload = f'{{"v":1,"gateway":"floor","lane":"live","sent_at":"{stamp}","records":[{records}]}}'
                state["mid"] = state["mid"] % 65_535 + 1
                sent.append(pk.encode_publish(pk.Publish("floor/readings", payload.encode(), qos=1,
                                                         mid=state["mid"]), False))
            _publish_all(sock, sent)
            state["seq"] = seq + count
            return count

        try:
            return _paced(commit, warmup, seconds)
        finally:
            sock.close()
    finally:
        broker.stop()


MEASURES: dict[str, Callable[[float, float], tuple[float, int]]] = {
    "poll": stage_poll, "poll-callbacks": stage_poll_callbacks, "poll-epoll": stage_poll_epoll, "store": stage_store,
    "upstream": stage_upstream}
STAGES = tuple(MEASURES)


def run_stage(stage: str, warmup: float, seconds: float) -> dict[str, Any]:
    cpu, points = MEASURES[stage](warmup, seconds)
    return {"stage": stage, "points": points, "points/s": round(points / seconds, 1),
            "CPU us per point": round(1e6 * cpu / points, 2) if points else float("nan")}


FLOOR = "floor of the agent's design (asyncio poll + store + upstream), CPU us per point"
FLOOR_EPOLL = "floor with a poll loop of its own (epoll poll + store + upstream), CPU us per point"
FLOOR_CALLBACKS = "floor with polls driven by asyncio's callbacks (poll-callbacks + store + upstream), CPU us per point"


def floor_figures(warmup: float, seconds: float) -> dict[str, float]:
    """Each stage's CPU per point, each run alone in a process of its own (its CPU is its own), and both floors."""
    figures: dict[str, float] = {}
    for stage in STAGES:
        done = subprocess.run([sys.executable, "-m", "bench.cpu_floor", "--stage", stage, "--seconds",
                               str(seconds), "--warmup", str(warmup)], capture_output=True, text=True, check=True)
        figures[f"{stage}, CPU us per point"] = json.loads(done.stdout.strip().splitlines()[-1])["CPU us per point"]
    rest = figures["store, CPU us per point"] + figures["upstream, CPU us per point"]
    figures[FLOOR] = round(figures["poll, CPU us per point"] + rest, 2)
    figures[FLOOR_EPOLL] = round(figures["poll-epoll, CPU us per point"] + rest, 2)
    figures[FLOOR_CALLBACKS] = round(figures["poll-callbacks, CPU us per point"] + rest, 2)
    return figures


def run(mode: str) -> Result:
    """Scenario 7 of ``python -m bench``: the floor beside the agent's CPU per point of scenario 5."""
    result = Result("7 floor of CPU per point",
                    f"the peer workload ({DEVICES} devices x the {peer.PROFILE} profile every {PERIOD:g} s), each "
                    "stage's bare minimum alone in a process of its own (bench/cpu_floor.py)",
                    "none: what the agent's design costs at the least on this machine, beside the 15 us target")
    warmup, seconds = {"tiny": (0.5, 1.0), "quick": (3.0, 10.0)}.get(mode, (5.0, 30.0))
    try:
        result.figures.update(floor_figures(warmup, seconds))
    except subprocess.CalledProcessError as exc:  # the other scenarios' figures still count
        result.skipped = f"stage {exc.cmd[4]} failed: {(exc.stderr or '').strip()[-300:]}"
        return result
    result.notes.append("poll: asyncio, no decoding; poll-callbacks: the same on asyncio's callbacks alone (no "
                        "future, task or sleep); poll-epoll: the same polls without asyncio; store: one executemany "
                        "per commit, synchronous FULL; upstream: one f-string per reading, QoS 1")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--stage", choices=STAGES, help="one stage, in this process (the default runs each alone)")
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.warmup, args.seconds)))
        return 0
    print(f"the peer workload: {DEVICES} devices x the {peer.PROFILE} profile every {PERIOD:g} s")
    figures = floor_figures(args.warmup, args.seconds)
    for stage in STAGES:
        print(f"{stage:14s} {figures[f'{stage}, CPU us per point']:6.2f} µs a point")
    print(f"floor, asyncio poll   {figures[FLOOR]:6.2f} µs a point (poll + store + upstream; target 15 µs)")
    print(f"floor, callback polls {figures[FLOOR_CALLBACKS]:6.2f} µs a point (poll-callbacks + store + upstream)")
    print(f"floor, epoll poll     {figures[FLOOR_EPOLL]:6.2f} µs a point (poll-epoll + store + upstream)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
