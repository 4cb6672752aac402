"""Time, injected: the real clock for the daemon, fake ones for tests that walk a year in seconds."""

from __future__ import annotations

import ctypes
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

_TIME_ERROR = 5  # adjtimex(2): clock not synchronised
_TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")

# The instants a record may carry: a time outside them (a device's clock set to year 1 or 9999, a protobuf
# timestamp of 2**62 s) is not a time this gateway can have seen, and some date code cannot even format it.
EARLIEST_TS = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_TS = 4_102_444_800.0  # 2100-01-01T00:00:00Z


def plausible(ts: float) -> bool:
    """Whether ``ts`` (Unix seconds, UTC) lies between 2000-01-01 and 2100-01-01 (so never NaN or infinite)."""
    return EARLIEST_TS <= ts < LATEST_TS  # False for NaN and the infinities; exact for any int


class Clock(Protocol):
    """Wall time (Unix seconds, UTC), a monotonic time, and whether the wall time can be trusted."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    def synced(self) -> bool: ...


class SystemClock:
    """The machine's clock. ``synced`` asks the kernel (adjtimex) and refuses dates before ``not_before``."""

    def __init__(self, *, not_before: str = "2025-01-01", assume_synced: bool = False) -> None:
        self._floor = datetime.fromisoformat(not_before).replace(tzinfo=UTC).timestamp()
        self._assume = assume_synced
        self._known_synced = False

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def synced(self) -> bool:
        if time.time() < self._floor:
            return False
        if self._assume or self._known_synced:
            return True
        self._known_synced = kernel_clock_synced() is not False
        return self._known_synced


def kernel_clock_synced() -> bool | None:
    """True or False from the kernel's NTP state; None where it cannot be asked."""
    if _TIMESYNC_FLAG.exists():
        return True
    try:  # the C library this process runs on (no ctypes.util: it runs ldconfig, and loads shutil and more)
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(512)  # struct timex is 208 bytes on 64-bit Linux
        state = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return bool(state != _TIME_ERROR)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_767_225_600.0, *, synced: bool = True) -> None:
        self._now = start
        self._mono = 1000.0
        self._synced = synced

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def synced(self) -> bool:
        return self._synced

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds

    def jump(self, seconds: float) -> None:
        """Move wall time only (an NTP step, a manual change); monotonic time goes on."""
        self._now += seconds

    def set_synced(self, synced: bool) -> None:
        self._synced = synced
