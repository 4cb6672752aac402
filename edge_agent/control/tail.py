"""Fan-out of committed records to ``tail`` clients, each with a bounded queue.

A client that does not keep up is dropped, never waited for: the committer's listener must not block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from edge_agent.control.protocol import reply_record_json
from edge_agent.logs import get_logger
from edge_agent.reading import Record

log = get_logger(__name__)

QUEUE_SIZE = 2000  # records a tail client may lag behind before it is dropped


@dataclass(eq=False)
class Subscriber:
    """One ``tail`` client: its filter, its queue, and how to cut it off."""

    device: str | None
    kick: Callable[[], None]
    queue: asyncio.Queue[dict[str, Any]]
    overflowed: bool = False

    def wants(self, record: Record) -> bool:
        return self.device is None or record.device == self.device


class TailHub:
    """Committed records go to every subscriber whose filter matches."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self.dropped_clients = 0

    def subscribe(self, device: str | None, kick: Callable[[], None]) -> Subscriber:
        subscriber = Subscriber(device=device, kick=kick, queue=asyncio.Queue(self._queue_size))
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def __len__(self) -> int:
        return len(self._subscribers)

    def publish(self, records: Sequence[Record], seqs: Sequence[int]) -> None:
        """Called by the committer for every committed group; never blocks."""
        for subscriber in list(self._subscribers):
            for record, seq in zip(records, seqs, strict=False):
                if subscriber.wants(record) and not self._offer(subscriber, reply_record_json(record, seq)):
                    break

    def _offer(self, subscriber: Subscriber, item: dict[str, Any]) -> bool:
        try:
            subscriber.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            subscriber.overflowed = True
            self._subscribers.discard(subscriber)
            self.dropped_clients += 1
            log.warning("control_tail_client_dropped", reason="too slow", queue=self._queue_size,
                        dropped_total=self.dropped_clients)
            subscriber.kick()
            return False
