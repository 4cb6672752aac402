"""Polling one device: run its read plan on its line, decode, track health, hand records to the sink."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge_agent.clock import Clock
from edge_agent.logs import get_logger
from edge_agent.modbus.adapter import ModbusFailure
from edge_agent.modbus.backoff import DeviceHealth, Transition
from edge_agent.modbus.bus import Line
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.plan import ReadBlock, make_block
from edge_agent.modbus.profile import Profile
from edge_agent.reading import Event, Priority, Reading, Record
from edge_agent.services import RecordSink

log = get_logger("edge_agent.modbus")

_MAX_IN_FLIGHT = 8  # submissions of one device awaiting their commit, at the least


def submissions_in_flight(commit_interval: float, poll_interval: float) -> int:
    """How many of one device's submissions may await their commit: every poll made while a commit is awaited, and
    two more (never fewer than ``_MAX_IN_FLIGHT``). Fewer would hold a poll's readings back past the commit that
    comes next: a meter polled every second under commits every 10 s (``store.commit_interval``) waited for two."""
    return max(_MAX_IN_FLIGHT, math.ceil(commit_interval / max(poll_interval, 1e-3)) + 2)


@dataclass
class DevicePoller:
    """One device: its config, profile, compiled plan, the line it sits on and its health."""

    config: ModbusDeviceConfig
    profile: Profile
    plan: list[ReadBlock]
    line: Line
    timeout: float
    clock: Clock
    health: DeviceHealth
    last_values: dict[str, Reading] = field(default_factory=dict)
    stopping: bool = False
    submit_failures: int = 0
    max_in_flight: int = _MAX_IN_FLIGHT  # see ``submissions_in_flight``
    _in_flight: deque[tuple[asyncio.Future[Any], int]] = field(default_factory=deque, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    async def read(self, early: RecordSink | None = None) -> tuple[list[Reading], ModbusFailure | None]:
        """Run the plan once. A timeout or lost link stops the cycle; an exception skips only its block. With
        ``early``, each block's readings go to it as soon as they are decoded (only the rest is returned)."""
        if self.line.depth > 1:
            return await self._read_together()
        readings: list[Reading] = []
        failure: ModbusFailure | None = None
        answered = 0
        for block in self.plan:
            try:
                async with self.line.transaction() as link:
                    values = await link.read(self.config.unit, block.table, block.start, block.count, self.timeout)
            except ModbusFailure as exc:
                failure = exc
                if exc.kind != "exception":
                    break
                continue
            answered += 1
            if early is not None:
                await self._hand_over(early, self._readings(block, values))
            else:
                readings.extend(self._readings(block, values))
        return readings, self._settle(answered, failure)

    async def _read_together(self) -> tuple[list[Reading], ModbusFailure | None]:
        """``read`` on a line taking several requests at once: the plan's requests go out together (as many at a
        time as the line takes), with the same outcome as one by one."""
        readings: list[Reading] = []
        failure: ModbusFailure | None = None
        answered = 0
        plan, depth = self.plan, self.line.depth
        for first in range(0, len(plan), depth):
            blocks = plan[first:first + depth]
            try:
                async with self.line.transaction(len(blocks)) as link:
                    results = await link.read_many(self.config.unit, [(b.table, b.start, b.count) for b in blocks],
                                                   self.timeout)
            except ModbusFailure as exc:
                failure = exc
                break
            for block, result in zip(blocks, results, strict=False):
                if isinstance(result, ModbusFailure):
                    failure = result
                    if result.kind != "exception":
                        break
                    continue
                answered += 1
                readings.extend(self._readings(block, result))
            if failure is not None and failure.kind != "exception":
                break
        return readings, self._settle(answered, failure)

    def _settle(self, answered: int, failure: ModbusFailure | None) -> ModbusFailure | None:
        """A failure after some answers is counted and logged, not the cycle's failure."""
        if answered and failure is not None:
            self.health.counted(failure.kind)
            self._log_partial(failure)
            return None
        return failure

    def _readings(self, block: ReadBlock, values: list[int] | list[bool]) -> list[Reading]:
        ts, synced, device, last = self.clock.now(), self.clock.synced(), self.name, self.last_values
        steps = block.steps or make_block(block.table, block.start, block.count, block.points).steps
        out = []
        for first, end, decode, name, unit, _ in steps:
            value, quality = decode(values[first:end])
            reading = Reading(device, name, value, ts, unit, quality, synced)
            last[name] = reading
            out.append(reading)
        return out

    async def cycle(self, early: RecordSink | None = None) -> list[Record]:
        """One poll: readings plus an online/offline event when the device's state changed (readings handed to
        ``early`` as they come are not among them)."""
        readings, failure = await self.read(early)
        records: list[Record] = list(readings)
        if failure is None:
            transition = self.health.succeeded(self.clock.monotonic(), self.clock.now())
        else:
            first = self.health.consecutive == 0
            transition = self.health.failed(self.clock.monotonic(), failure.kind, str(failure))
            if first:
                log.warning("modbus_poll_failed", device=self.name, kind=failure.kind, reason=str(failure))
        if transition is not None:
            records.append(self._event(transition))
        return records

    def _event(self, transition: Transition) -> Event:
        reason = self.health.last_error if transition == "offline" else "answering again"
        if transition == "offline":
            log.warning("modbus_device_offline", device=self.name, reason=reason)
        else:
            log.info("modbus_device_online", device=self.name)
        return Event(
            kind=f"device_{transition}",
            ts=self.clock.now(),
            priority=Priority.WARNING if transition == "offline" else Priority.INFO,
            device=self.name,
            message=f"{self.name} is {transition}: {reason}",
            data={"reason": reason, "errors": dict(self.health.errors)},
            clock_synced=self.clock.synced(),
        )

    def _log_partial(self, failure: ModbusFailure) -> None:
        if self.health.errors[failure.kind] == 1:
            log.warning("modbus_partial_read", device=self.name, kind=failure.kind, reason=str(failure))

    async def run(self, sink: RecordSink) -> None:
        """Poll at the configured interval, skipping while backed off, until cancelled or ``stopping``.

        The flag makes stopping certain on Python 3.11, where ``asyncio.wait_for`` (used inside pymodbus)
        can swallow a cancellation that arrives just as its inner future completes."""
        interval = self.config.poll_interval
        next_at = self.clock.monotonic()
        self.stopping = False
        # On a serial line a block takes tens of milliseconds and the bus's devices take turns block by block: a
        # poll's first readings would wait for the whole round (over a second for 8 meters at 9600 baud) before
        # going to the store, so there each block's readings go as soon as they are decoded.
        early = sink if self.line.silence else None
        while not self.stopping:
            now = self.clock.monotonic()
            if self.health.due(now):
                await self._hand_over(sink, await self._guarded_cycle(early))
                next_at += interval
                now = self.clock.monotonic()
                if next_at < now:
                    next_at = now + interval  # missed turns are skipped, not caught up in a burst
            wake = max(next_at, self.health.skip_until)
            await asyncio.sleep(max(0.0, wake - self.clock.monotonic()))

    async def _hand_over(self, sink: RecordSink, records: Sequence[Record]) -> None:
        """Submit without waiting for the group commit (up to commit_interval, longer than a short poll
        interval), keeping at most ``max_in_flight`` submissions per device: a store that falls behind
        still holds the poller back."""
        in_flight = self._in_flight
        while len(in_flight) >= self.max_in_flight:
            oldest, count = in_flight.popleft()
            with contextlib.suppress(Exception):  # its failure is reported by _settled
                await asyncio.shield(oldest)  # a cancelled poller must not cancel a commit
            self._settled(oldest, count)
        while in_flight and in_flight[0][0].done():
            self._settled(*in_flight.popleft())
        if not records:
            return
        submission = sink.submit(records)
        if not isinstance(submission, asyncio.Future):  # a coroutine: it runs as a task of its own
            in_flight.append((asyncio.ensure_future(self._submit(submission, len(records))), len(records)))
        elif submission.done():  # refused at once (the agent is stopping)
            self._settled(submission, len(records))
        else:  # the group commit's own future: no task per poll
            in_flight.append((submission, len(records)))

    async def _guarded_cycle(self, early: RecordSink | None = None) -> list[Record]:
        """A cycle that cannot end the polling loop: a bug shows in the log and the counters, polling goes on."""
        try:
            return await self.cycle(early)
        except Exception as exc:  # the loop must outlive anything a device or a library does
            self.health.counted("internal")
            if self.health.errors["internal"] == 1:
                log.exception("modbus_cycle_crashed", device=self.name, error=repr(exc))
            return []

    async def _submit(self, submission: Awaitable[Any], records: int) -> None:
        try:
            await submission
        except Exception as exc:  # a store in trouble must not stop the polling; the store reports itself
            self._failed(exc, records)

    def _settled(self, submission: asyncio.Future[Any], records: int) -> None:
        """A submission is over: a failure is counted and logged."""
        if submission.done() and not submission.cancelled() and submission.exception() is not None:
            self._failed(submission.exception(), records)

    def _failed(self, exc: BaseException | None, records: int) -> None:
        self.submit_failures += 1
        log.error("modbus_submit_failed", device=self.name, error=repr(exc), records=records)
