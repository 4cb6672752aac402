"""Retry delays after a failure, the one policy of the agent: exponential growth to a cap, with jitter.

Attempt *n* has the ceiling ``min(cap, base * 2**n)``; the delay is that ceiling shortened by a random share of at
most ``spread``, so it is uniform in [(1 - spread) x ceiling, ceiling]. ``spread=1`` is "full jitter", for the MQTT
clients: a fleet that lost its broker at the same instant does not come back in step. A small spread, for a failing
Modbus device, keeps its wait close to the ceiling while devices still drift apart. Pure: the random source is
injected; by default ``random_share``, from the kernel's random source (the daemon does not load ``random``, whose
module costs 0.15 MB resident, for a few draws an hour).
"""

from __future__ import annotations

import os
from collections.abc import Callable

FULL_JITTER = 1.0


def random_share() -> float:
    """A share drawn uniformly in [0, 1), 53 bits of ``os.urandom``."""
    return (int.from_bytes(os.urandom(7), "big") >> 3) / 2.0**53


class Backoff:
    """The delays of successive attempts; ``reset`` after a success starts again at ``base``."""

    def __init__(self, base: float, cap: float, *, spread: float = FULL_JITTER,
                 rand: Callable[[], float] = random_share) -> None:
        if not 0.0 <= spread <= 1.0:
            raise ValueError(f"spread is a share from 0 to 1, not {spread}")
        self._base = base
        self._cap = cap
        self._spread = spread
        self._rand = rand
        self._attempt = 0

    def ceiling(self) -> float:
        """The longest delay the next attempt may wait."""
        return float(min(self._cap, self._base * (2 ** min(self._attempt, 30))))

    def next_delay(self) -> float:
        ceiling = self.ceiling()
        self._attempt += 1
        return ceiling * (1.0 - self._spread * self._rand())

    def reset(self) -> None:
        self._attempt = 0

    @property
    def attempts(self) -> int:
        return self._attempt
