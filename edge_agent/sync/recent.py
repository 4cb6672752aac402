"""The readings just committed, kept in memory so that the uplink need not read them back (pure).

The group commit hands every committed group of records to the uplink, in commit order, with their sequence
numbers (``UplinkSync.committed``). While the uplink keeps up, the next readings it sends are exactly those: this
keeps them, and answers a readings pick (the live lane, or the backlog lane of a short split) from memory when it
can tell that nothing unsent lies between the pick's cursor and what it holds. The store stays the source of
truth: ``take`` answers None (ask the store) whenever the cursor is behind what memory covers: at start, after a
rewind, after records set aside, after a long backlog or an outage that overflowed memory. A record leaves the
outbox only on its PUBACK, as before; this only saves reading it back.

``floor`` is the invariant: every reading committed with a sequence number above it is held, in order, until every
readings lane has passed it. Events are not held (the events lane reads the store). Only readings the store gives
back exactly as they were handed in are held (``rows.stored_as_is``); any other makes memory forget up to it, so
the store answers for it.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from itertools import islice

from edge_agent.reading import Reading, Record
from edge_agent.store.rows import StoredRecord, stored_as_is

DEFAULT_CAPACITY = 5_000  # readings held at most; beyond, the oldest are forgotten and read from the store


def _seq(stored: StoredRecord) -> int:
    return stored.seq


class RecentReadings:
    """Readings committed after ``floor``, oldest first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._held: deque[StoredRecord] = deque()
        self._floor: int | None = None  # None: nothing committed seen yet, memory covers nothing

    @property
    def floor(self) -> int | None:
        return self._floor

    def __len__(self) -> int:
        return len(self._held)

    def add(self, records: Sequence[Record], seqs: Sequence[int]) -> None:
        """A group just committed (``seqs[i]`` is ``records[i]``'s number, increasing): keep its readings."""
        if not seqs:
            return
        if self._floor is None:
            self._floor = seqs[0] - 1
        held = self._held
        make = tuple.__new__  # StoredRecord(seq, record, False) without the named tuple's Python-level __new__
        for record, seq in zip(records, seqs, strict=True):
            if type(record) is Reading and stored_as_is(record):
                held.append(make(StoredRecord, (seq, record, False)))
            elif type(record) is not Reading:
                continue  # events go up through the events lane, from the store
            else:  # the store keeps something else than this reading: from here on the store answers
                self.forget_through(seq)
        if len(held) > self._capacity:
            for _ in range(len(held) - self._capacity):
                self._floor = held.popleft().seq

    def take(self, after: int, limit: int, before: int | None = None) -> list[StoredRecord] | None:
        """The held readings with seq in (``after``, ``before``), at most ``limit``, oldest first; None when memory
        cannot tell (readings between ``after`` and what it holds may be in the store only): then ask the store.
        Nothing is dropped: two lanes (live and backlog) may read at two cursors; see ``forget_through``."""
        floor = self._floor
        if floor is None or after < floor:
            return None
        held = self._held
        first = bisect.bisect_right(held, after, key=_seq)
        out = list(islice(held, first, first + limit))
        if before is not None and out and out[-1].seq >= before:
            out = out[:bisect.bisect_left(out, before, key=_seq)]
        return out

    def forget_through(self, seq: int) -> None:
        """Readings up to ``seq`` are dealt with (every lane's cursor passed them, or one was set aside): drop
        them, cover only above."""
        held = self._held
        while held and held[0].seq <= seq:
            held.popleft()
        if self._floor is not None and seq > self._floor:
            self._floor = seq

    def forget(self) -> None:
        """Cover nothing below what comes next (a rewind: everything unsent is read from the store again)."""
        if self._held:
            self.forget_through(self._held[-1].seq)
