"""Which records go up next (pure): events first, live data never starved, the backlog drained in order.

Readings leave in sequence order through one lane while the outbox is small. When the unsent part grows beyond
``live_split`` (a gateway back after an outage), the records that arrive from then on get a *live* lane of their
own and the older ones form the *backlog* lane, drained in order. While live data flows (it was sent within the
last ``LIVE_ACTIVE`` seconds) the backlog is held to ``drain_rate`` records/s; when the live lane is idle the
backlog goes as fast as the link takes it. When the backlog is empty the two lanes merge again. Each lane is a
cursor on the sequence numbers it has handed out.
"""

from __future__ import annotations

import enum

from edge_agent.frozen import frozen

LIVE_ACTIVE = 2.0  # seconds after a live batch during which the backlog is throttled


class Lane(enum.StrEnum):
    EVENTS = "events"
    LIVE = "live"
    BACKLOG = "backlog"
    REPORTS = "reports"  # a daily report: an event of the events lane, sent alone on the reports topic


@frozen
class Pick:
    """Ask the store for unsent records of a lane: seq in (after, before), at most ``limit``."""

    lane: Lane
    after: int
    before: int | None
    limit: int
    events_written: int | None = None  # of an events pick: the store's count of event writes when it was made


class TokenBucket:
    """At most ``rate`` units a second, bursts up to ``burst`` (pure: time is passed in)."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def available(self, now: float) -> float:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def take(self, amount: float, now: float) -> None:
        self.available(now)
        self._tokens -= amount

    def wait_for(self, amount: float, now: float) -> float:
        missing = amount - self.available(now)
        return max(0.0, missing / self.rate)


class LanePlanner:
    """Cursors of the three lanes. ``picks`` says what to ask for; ``advance``/``exhausted`` report back."""

    def __init__(self, *, batch: int, live_split: int, drain_rate: float, now: float) -> None:
        self.batch = batch
        self.live_split = live_split
        self.bucket = TokenBucket(drain_rate, max(float(batch), drain_rate * 0.5), now)
        self.event_cursor = 0
        self.drain_cursor = 0
        self.live_floor: int | None = None
        self.live_cursor = 0
        self._live_sent_at = float("-inf")
        # The store's count of event writes (``Store.events_written``) when the events lane last found nothing
        # after its cursor: while the count is the same, no event can be waiting, and the store is not asked.
        self._events_clear_at: int | None = None

    @property
    def split(self) -> bool:
        return self.live_floor is not None

    def rewind(self) -> None:
        """Forget what was handed out: everything unsent is offered again, oldest first."""
        self.event_cursor = 0
        self.drain_cursor = 0
        self.live_floor = None
        self.live_cursor = 0
        self._events_clear_at = None

    def picks(self, last_seq: int, now: float, events_written: int | None = None) -> list[Pick]:
        """The reads to try, in order of preference; the caller sends the first that returns records.

        ``events_written`` is the store's count of event writes (None: unknown). The events pick is left out when
        the events lane found nothing with the count as it is now: the readings lanes then need no read of the
        store at each round."""
        if self.live_floor is None and last_seq - self.drain_cursor > self.live_split:
            self.live_floor = last_seq
            self.live_cursor = last_seq
        result = []
        if events_written is None or events_written != self._events_clear_at:
            result.append(Pick(Lane.EVENTS, self.event_cursor, None, self.batch, events_written))
        if self.live_floor is None:
            result.append(Pick(Lane.LIVE, self.drain_cursor, None, self.batch))
            return result
        result.append(Pick(Lane.LIVE, self.live_cursor, None, self.batch))
        if now - self._live_sent_at > LIVE_ACTIVE:
            allowed = self.batch
        else:
            allowed = int(min(self.batch, self.bucket.available(now)))
        if allowed >= min(self.batch, 50):
            result.append(Pick(Lane.BACKLOG, self.drain_cursor, self.live_floor + 1, allowed))
        return result

    def advance(self, pick: Pick, last_seq_sent: int, count: int, now: float) -> None:
        """Records up to ``last_seq_sent`` of the pick's lane were handed to the link."""
        if pick.lane is Lane.EVENTS:
            self.event_cursor = max(self.event_cursor, last_seq_sent)
        elif pick.lane is Lane.BACKLOG:
            self.drain_cursor = max(self.drain_cursor, last_seq_sent)
            self.bucket.take(count, now)
        elif self.live_floor is None:
            self.drain_cursor = max(self.drain_cursor, last_seq_sent)
        else:
            self.live_cursor = max(self.live_cursor, last_seq_sent)
            self._live_sent_at = now

    def exhausted(self, pick: Pick) -> None:
        """A pick found nothing: a drained backlog merges back into the live lane; an empty events lane stays
        clear until the store writes an event again."""
        if pick.lane is Lane.EVENTS and pick.events_written is not None:
            self._events_clear_at = pick.events_written
        if pick.lane is Lane.BACKLOG and self.live_floor is not None and pick.limit > 0:
            self.drain_cursor = self.live_cursor
            self.live_floor = None
            self.live_cursor = 0

    def backlog_wait(self, now: float) -> float:
        """Seconds until the drain rate allows another backlog batch."""
        if self.live_floor is None or now - self._live_sent_at > LIVE_ACTIVE:
            return 0.0
        return self.bucket.wait_for(min(self.batch, 50), now)
