"""Reconnect delays: exponential backoff with full jitter (pure; the random source is injected)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delay n is uniform in [0, min(cap, base * 2**n)] ("full jitter"), so a fleet does not reconnect in step."""

    def __init__(self, base: float, cap: float, *, jitter: bool = True,
                 rand: Callable[[], float] = random.random) -> None:
        self._base = base
        self._cap = cap
        self._jitter = jitter
        self._rand = rand
        self._attempt = 0

    def next_delay(self) -> float:
        ceiling = float(min(self._cap, self._base * (2 ** min(self._attempt, 30))))
        self._attempt += 1
        return ceiling * self._rand() if self._jitter else ceiling

    def reset(self) -> None:
        self._attempt = 0

    @property
    def attempts(self) -> int:
        return self._attempt
