"""Manual overrides: a group held at a level until an expiry; an empty override resumes the program.

Pure. Expiries are on the monotonic clock, so that the clock being set at synchronisation neither cuts an
override short nor stretches it. Across a restart the monotonic clock starts again, so a saved override carries its
wall-clock end and ``resume_saved`` decides what is left of it.
"""

from __future__ import annotations

from typing import Literal

from edge_agent.frozen import frozen

MAX_OVERRIDE_S = 7 * 86_400  # the longest hold the hypervisor or a technician may ask for


@frozen(slots=True)
class Resume:
    """What to do with an override saved before a restart: hold it for ``remaining_s`` more (None: until cleared),
    drop it because it ended while the agent was stopped, or wait for the clock to be synchronised to tell."""

    verdict: Literal["hold", "ended", "wait"]
    remaining_s: float | None = None


def resume_saved(duration_s: float | None, ends_at: float | None, now: float, synced: bool) -> Resume:
    """``ends_at`` is the override's wall-clock end, None when it has none or the clock was not synchronised when it
    was set; such an override cannot be placed in time and runs its whole duration again from the restart."""
    if duration_s is None:
        return Resume("hold")
    if ends_at is None:
        return Resume("hold", duration_s)
    if not synced:
        return Resume("wait")
    remaining = ends_at - now
    return Resume("hold", min(remaining, duration_s)) if remaining > 0 else Resume("ended")


@frozen(slots=True)
class Override:
    group: str
    level: int
    expires_mono: float | None  # None: until cleared
    source: str = "manual"

    def active(self, mono: float) -> bool:
        return self.expires_mono is None or mono < self.expires_mono


class Overrides:
    """The overrides in force, one per group at most."""

    def __init__(self) -> None:
        self._by_group: dict[str, Override] = {}

    def set(self, group: str, level: int | None, duration_s: float | None, mono: float, source: str = "manual") -> None:
        """Hold ``group`` at ``level`` for ``duration_s`` (None: until cleared); level None resumes the program."""
        if level is None:
            self._by_group.pop(group, None)
            return
        if not 0 <= level <= 100:
            raise ValueError(f"level {level} is not a percentage (0-100)")
        if duration_s is not None and duration_s <= 0:
            raise ValueError(f"duration {duration_s} s is not positive")
        expiry = None if duration_s is None else mono + duration_s
        self._by_group[group] = Override(group, level, expiry, source)

    def clear(self, group: str) -> None:
        self._by_group.pop(group, None)

    def level(self, group: str, mono: float) -> int | None:
        override = self.get(group, mono)
        return None if override is None else override.level

    def get(self, group: str, mono: float) -> Override | None:
        override = self._by_group.get(group)
        if override is not None and not override.active(mono):
            return None
        return override

    def expire(self, mono: float) -> list[Override]:
        """Drop and return the overrides that have run out."""
        gone = [o for o in self._by_group.values() if not o.active(mono)]
        for override in gone:
            del self._by_group[override.group]
        return gone
