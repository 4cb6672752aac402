"""Group commit: records submitted within a short window are written in one transaction.

A submitter is answered only once its records are committed, so nothing downstream (sync, a broker
acknowledgement to ChirpStack) ever acts on a record that a crash could still lose. Readings wait for the next
commit (``store.commit_interval``); a submission holding an event is committed at once, with whatever is queued
before it, so that an alarm leaves within moments. The alarm rules see readings as they are queued
(``add_queued_listener``), not once committed: an alarm they raise is queued after its reading, so it is committed
in the same transaction as that reading or a later one, never alone before it, and its reading does not wait for
the commit interval either. The queue is bounded:
when it is full, submitters wait (back-pressure), they are never silently dropped. When a commit fails (a full
disk the store could not make room on, an I/O error), the records stay queued in order and the commit is tried
again every interval; ``failing`` says why meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from edge_agent.errors import StoreError
from edge_agent.logs import get_logger
from edge_agent.reading import Event, Record
from edge_agent.store.worker import StoreWorker

log = get_logger(__name__)

# Acknowledgements ride in a commit at most every ACK_EVERY seconds, or once ACK_BATCH of them wait: each commit
# that carries them writes one more page, and at a commune's load that page was a fifth of the bytes written.
ACK_EVERY = 5.0
ACK_BATCH = 20_000

Listener = Callable[[Sequence[Record], list[int]], None]
QueuedListener = Callable[[Sequence[Record]], None]


@dataclass
class _Pending:
    records: Sequence[Record]
    future: asyncio.Future[list[int]]


@dataclass
class CommitterStats:
    committed: int = 0
    transactions: int = 0
    failures: int = 0
    listeners: list[Listener] = field(default_factory=list)
    queued_listeners: list[QueuedListener] = field(default_factory=list)


class Committer:
    """The agent's RecordSink."""

    def __init__(self, worker: StoreWorker, *, interval: float, max_records: int, max_queued: int = 100_000) -> None:
        self._worker = worker
        self._interval = interval
        self._max_records = max_records
        self._max_queued = max_queued
        self._queue: list[_Pending] = []
        self._queued = 0
        self._flush_now = asyncio.Event()
        self._turns: deque[asyncio.Future[None]] = deque()  # submitters waiting for room, first come first served
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.failing: str | None = None
        self._acks: list[int] = []
        self._acks_written = 0.0  # loop time of the last commit that carried acknowledgements
        self.stats = CommitterStats()

    def add_listener(self, listener: Listener) -> None:
        """Called (on the event loop) with every committed group of records and their sequence numbers."""
        self.stats.listeners.append(listener)

    def add_queued_listener(self, listener: QueuedListener) -> None:
        """Called (on the event loop) with each submission's records as soon as they are queued, before their
        commit. Whatever a listener submits in turn is queued after them: committed with them or after them."""
        self.stats.queued_listeners.append(listener)

    def submit(self, records: Sequence[Record]) -> Awaitable[list[int]]:
        """Queue ``records`` for the next commit; await the result for their sequence numbers, once committed.

        Queued at once when there is room: what comes back is then the commit's own future, so a driver that does
        not wait for the commit (a poller) needs no task per submission. When the queue is full, a coroutine that
        waits for its turn, then queues them."""
        loop = asyncio.get_running_loop()
        if not records:
            done: asyncio.Future[list[int]] = loop.create_future()
            done.set_result([])
            return done
        if self._closing and self.failing is None:
            refused: asyncio.Future[list[int]] = loop.create_future()
            refused.set_exception(StoreError("the agent is stopping: records are no longer accepted"))
            return refused
        if self._turns or self._queued >= self._max_queued:
            return self._submit_in_turn(records)
        return self._enqueue(records, loop)

    async def _submit_in_turn(self, records: Sequence[Record]) -> list[int]:
        await self._wait_for_room()
        return await self._enqueue(records, asyncio.get_running_loop())

    def _enqueue(self, records: Sequence[Record], loop: asyncio.AbstractEventLoop) -> asyncio.Future[list[int]]:
        future: asyncio.Future[list[int]] = loop.create_future()
        self._queue.append(_Pending(records, future))
        self._queued += len(records)
        if self._queued >= self._max_records or _has_event(records):
            self._flush_now.set()  # an event (an alarm, a device gone) is committed at once, not at the interval
        for listener in self.stats.queued_listeners:
            try:
                listener(records)
            except Exception as exc:  # the records stay queued whatever a listener does
                log.error("queued_listener_failed", listener=getattr(listener, "__qualname__", "?"), error=str(exc))
        return future

    async def _wait_for_room(self) -> None:
        """Back-pressure that keeps the order: submitters wait in line and are queued in the order they called
        ``submit`` (a LoRaWAN message's records after the one before it), never overtaken by a later one."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._turns.append(turn)
        try:
            await turn
        finally:
            self._turns.remove(turn)
            self._next_turn()  # the next in line runs after this one has queued its records (no await before)

    def _next_turn(self) -> None:
        if self._turns and self._queued < self._max_queued and not self._turns[0].done():
            self._turns[0].set_result(None)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="committer")

    async def stop(self) -> None:
        """Commit what is queued, then stop accepting."""
        self._closing = True
        self._flush_now.set()
        if self._task is not None:
            await self._task
        await self._flush()
        if self._queue:
            lost = sum(len(pending.records) for pending in self._queue)
            log.error("store_records_not_committed_at_stop", records=lost, reason=self.failing)

    async def _run(self) -> None:
        """A commit every ``interval`` from the start of the one before (not from its end: a commit that takes a
        while on an SD card must not hold the next readings back by as long), at once for an event."""
        loop = asyncio.get_running_loop()
        due = loop.time() + self._interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), max(0.0, due - loop.time()))
            self._flush_now.clear()
            due = loop.time() + self._interval
            await self._flush()
            if self.failing is not None and not self._closing:
                await asyncio.sleep(self._interval)

    def ack(self, seqs: list[int]) -> None:
        """Records the broker acknowledged: marked sent with the next records, at most every ``ACK_EVERY`` seconds
        (sooner when many wait, or at stop). A crash before that only means they are sent again."""
        self._acks.extend(seqs)

    async def write_acks(self) -> None:
        """Mark at once what the broker acknowledged, for a reader of the outbox (a technician's ``queue`` or
        ``sync``) whose counts must be current. A failed write keeps them for the next commit."""
        if not self._acks or self.failing is not None:
            return
        acks, self._acks = self._acks, []
        self._acks_written = asyncio.get_running_loop().time()
        try:
            await asyncio.shield(self._worker.call(self._worker.store.append, [], acks))
        except Exception as exc:
            self._acks = acks + self._acks
            log.warning("store_acks_not_written", error=str(exc), action="kept for the next commit")

    def _acks_due(self) -> bool:
        if not self._acks:
            return False
        now = asyncio.get_running_loop().time()
        return self._closing or len(self._acks) >= ACK_BATCH or now - self._acks_written >= ACK_EVERY

    async def _flush(self) -> None:
        acks_due = self._acks_due()
        if not self._queue and not acks_due:
            return
        batch, self._queue = self._queue, []
        acks: list[int] = []
        if acks_due:
            acks, self._acks = self._acks, []
            self._acks_written = asyncio.get_running_loop().time()
        records = [record for pending in batch for record in pending.records]
        try:
            seqs = await asyncio.shield(self._worker.call(self._worker.store.append, records, acks))
        except Exception as exc:
            self.stats.failures += 1
            self._queue = batch + self._queue  # keep them, in order, for the next try
            self._acks = acks + self._acks
            if self.failing != str(exc):
                log.error("store_commit_failed", error=str(exc), records=len(records), action="kept, retrying")
            self.failing = str(exc)
            return
        if self.failing is not None:
            log.info("store_commit_recovered", records=len(records))
            self.failing = None
        if not records:
            return
        self._queued -= len(records)
        self._next_turn()
        self.stats.committed += len(records)
        self.stats.transactions += 1
        offset = 0
        for pending in batch:
            part = seqs[offset:offset + len(pending.records)]
            offset += len(pending.records)
            if not pending.future.done():
                pending.future.set_result(part)
        for listener in self.stats.listeners:
            try:
                listener(records, seqs)
            except Exception as exc:
                log.error("commit_listener_failed", listener=getattr(listener, "__qualname__", "?"), error=str(exc))


def _has_event(records: Sequence[Record]) -> bool:
    """Whether a submission holds an event. Pollers put theirs last, so the end is looked at first."""
    return type(records[-1]) is Event or any(type(record) is Event for record in records)
