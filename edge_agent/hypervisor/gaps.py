"""Which sequence gaps to ask a replay for, and which to give up on (pure: values and a time in, decisions out)."""

from __future__ import annotations

from edge_agent.frozen import frozen


@frozen
class Gap:
    gateway: str
    first: int
    last: int
    found_at: float
    requested_at: float | None
    attempts: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@frozen
class ReplayPolicy:
    """``grace``: a hole younger than this may still be in flight (lanes interleave); ``retry_after``: wait for an
    answer this long before asking again; ``max_attempts``: then give up (the gateway may have pruned or dropped
    those records, or never committed them: seqs skip after a crash); ``max_per_tick``: fleet-wide rate limit."""

    grace: float = 30.0
    retry_after: float = 60.0
    max_attempts: int = 5
    max_per_tick: int = 50


@frozen
class Decision:
    request: list[Gap]
    abandon: list[Gap]


def holes_between(seqs: list[int], after: int) -> list[tuple[int, int]]:
    """The missing ranges in the sorted ``seqs`` (all above ``after``), counting from ``after + 1``."""
    found: list[tuple[int, int]] = []
    expected = after + 1
    for seq in seqs:
        if seq > expected:
            found.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return found


def tail_hole(max_seq: int, reported_last_seq: int | None, backlog: int | None) -> tuple[int, int] | None:
    """Records the gateway says it committed and has no backlog of, yet never arrived: lost after the PUBACK."""
    if reported_last_seq is None or backlog is None or backlog > 0 or reported_last_seq <= max_seq:
        return None
    return (max_seq + 1, reported_last_seq)


def decide(gaps: list[Gap], now: float, policy: ReplayPolicy, busy: set[str]) -> Decision:
    """Oldest gaps first; none for a gateway in ``busy`` (still draining a backlog); one request per gateway."""
    request: list[Gap] = []
    abandon: list[Gap] = []
    asked: set[str] = set()
    for gap in sorted(gaps, key=lambda g: (g.found_at, g.gateway, g.first)):
        if now - gap.found_at < policy.grace or gap.gateway in busy:
            continue
        if gap.requested_at is not None and now - gap.requested_at < policy.retry_after:
            continue
        if gap.attempts >= policy.max_attempts:
            abandon.append(gap)
            continue
        if gap.gateway in asked or len(request) >= policy.max_per_tick:
            continue
        asked.add(gap.gateway)
        request.append(gap)
    return Decision(request, abandon)
