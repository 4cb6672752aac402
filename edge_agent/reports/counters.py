"""Running totals read now and then (energy meters, people counters) turned into what was counted between two
instants, with every reset, rollover, glitch and gap found on the way said.

Between two readings the counter moved by ``after - before``. When it falls instead:

- a *rollover*: the counter has a largest value (``rollover_at``) and the reading before was in its last tenth:
  it went on from zero, so ``rollover_at - before + after`` was counted;
- a *glitch*: the reading after the fall is back at or above the one before it: the low reading is left out;
- a *reset* otherwise (a meter replaced, a controller restarted): the counter started again from zero, so
  ``after`` was counted since the reset, and what was counted between the reading before and the reset is lost;
- a fall smaller than ``jitter`` (a float register's rounding) counts nothing and is not an issue.

A *gap* is two readings further apart than ``max_gap_s``: what was counted across it is known (the counter kept
counting) but not when, so it is spread evenly over the gap, and a report period boundary inside it is uncertain.
Between readings the total is taken to grow linearly.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from edge_agent.frozen import frozen

IssueKind = Literal["reset", "rollover", "glitch", "gap"]
ROLLOVER_ZONE = 0.9  # a fall from above this share of rollover_at is a rollover
RELATIVE_JITTER = 1e-6  # falls smaller than this share of the value are rounding


@frozen(slots=True)
class Issue:
    """Something the counter did between the readings at ``since`` and ``ts``."""

    kind: IssueKind
    since: float
    ts: float
    before: float
    after: float
    counted: float  # what was counted for this step (0 for a glitch)


@dataclass
class Track:
    """A counter made monotonic: ``totals[i]`` is what was counted from the first reading to ``times[i]``."""

    times: list[float] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def total_at(self, ts: float) -> float:
        """The total at ``ts``, linear between readings, held flat before the first and after the last."""
        times, totals = self.times, self.totals
        if ts <= times[0]:
            return totals[0]
        if ts >= times[-1]:
            return totals[-1]
        index = bisect.bisect_right(times, ts)
        t0, t1 = times[index - 1], times[index]
        v0, v1 = totals[index - 1], totals[index]
        return v0 + (v1 - v0) * (ts - t0) / (t1 - t0)

    def between(self, start: float, end: float) -> float:
        """What was counted in [start, end)."""
        if not self.times:
            return 0.0
        return self.total_at(end) - self.total_at(start)

    def covered(self, start: float, end: float) -> float:
        """Seconds of [start, end) between the first and the last reading."""
        if not self.times:
            return 0.0
        return max(0.0, min(end, self.times[-1]) - max(start, self.times[0]))

    def issues_in(self, start: float, end: float) -> list[Issue]:
        """The issues whose stretch (from the reading before to the reading after) touches [start, end)."""
        return [issue for issue in self.issues if issue.since < end and issue.ts >= start]


def track(samples: Sequence[tuple[float, float]], *, rollover_at: float | None = None, max_gap_s: float = 3600.0,
          jitter: float = 0.0) -> Track:
    """Samples (time, value) in time order, into a monotonic track."""
    out = Track()
    if not samples:
        return out
    previous_ts, previous = samples[0]
    out.times.append(previous_ts)
    out.totals.append(0.0)
    total = 0.0
    for index in range(1, len(samples)):
        ts, value = samples[index]
        if ts <= previous_ts:
            continue  # a repeated instant adds nothing
        step = value - previous
        if step < 0 and -step <= max(jitter, abs(previous) * RELATIVE_JITTER):
            step = 0.0
            value = previous  # keep the higher reading as the reference
        elif step < 0:
            following = samples[index + 1][1] if index + 1 < len(samples) else None
            if following is not None and following >= previous:
                out.issues.append(Issue("glitch", previous_ts, ts, previous, value, 0.0))
                continue
            if rollover_at is not None and previous >= ROLLOVER_ZONE * rollover_at:
                step = rollover_at - previous + value
                out.issues.append(Issue("rollover", previous_ts, ts, previous, value, step))
            else:
                step = value
                out.issues.append(Issue("reset", previous_ts, ts, previous, value, step))
        if ts - previous_ts > max_gap_s:
            out.issues.append(Issue("gap", previous_ts, ts, previous, value, step))
        total += step
        out.times.append(ts)
        out.totals.append(total)
        previous_ts, previous = ts, value
    return out
