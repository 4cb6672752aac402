"""Per-device health: failure counters by kind, backoff, online/offline state. Pure; times are passed in.

After a failed poll the device is skipped for ``initial`` seconds, doubling per further failure up to
``maximum`` (the agent's one retry policy, ``edge_agent.backoff``, each wait shortened by at most 10 % so that
devices do not fall into step). After ``offline_after``
consecutive failures it is reported offline, once; its first answer reports it online again, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from edge_agent.backoff import Backoff, random_share

FailureKind = Literal["timeout", "exception", "bad_frame", "connect", "decode", "internal"]
Transition = Literal["offline", "online"]
SPREAD = 0.1  # each wait is 90 to 100 % of its ceiling


@dataclass
class DeviceHealth:
    """What the poller knows about one device's recent answers."""

    initial: float = 5.0
    maximum: float = 300.0
    offline_after: int = 3
    jitter: Callable[[], float] = field(default=random_share, repr=False)
    online: bool | None = None
    consecutive: int = 0
    skip_until: float = 0.0
    last_seen: float | None = None
    last_error: str = ""
    errors: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    _backoff: Backoff = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._backoff = Backoff(self.initial, self.maximum, spread=SPREAD, rand=self.jitter)

    def due(self, monotonic: float) -> bool:
        """False while the device is being skipped after failures."""
        return monotonic >= self.skip_until

    def succeeded(self, monotonic: float, wall: float) -> Transition | None:
        self.polls += 1
        self.consecutive = 0
        self._backoff.reset()
        self.skip_until = 0.0
        self.last_seen = wall
        was_online, self.online = self.online, True
        return "online" if was_online is False else None

    def failed(self, monotonic: float, kind: FailureKind, reason: str) -> Transition | None:
        self.polls += 1
        self.consecutive += 1
        self.errors[kind] += 1
        self.last_error = reason
        self.skip_until = monotonic + self._backoff.next_delay()
        if self.consecutive >= self.offline_after and self.online is not False:
            self.online = False
            return "offline"
        return None

    def counted(self, kind: FailureKind) -> None:
        """An error that does not fail the whole poll (one block of several answered an exception)."""
        self.errors[kind] += 1
