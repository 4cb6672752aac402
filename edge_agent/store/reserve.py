"""A file of spare room beside the database, given back when the disk fills up.

On a full disk SQLite cannot write at all: even a DELETE or a WAL checkpoint needs room. The store keeps this
reserve so that, on ENOSPC, deleting it gives just enough room to checkpoint the WAL and drop the oldest routine
readings. It is made again once the disk has room to spare.
"""

from __future__ import annotations

import os
from pathlib import Path

from edge_agent import durable
from edge_agent.logs import get_logger

log = get_logger(__name__)


class SpaceReserve:
    """``<db>.reserve``, ``size`` bytes of zeros."""

    def __init__(self, db: Path, size: int) -> None:
        self.path = db.with_name(db.name + ".reserve")
        self.size = size

    @property
    def held(self) -> bool:
        return self.path.exists()

    def ensure(self) -> bool:
        """Make the reserve if it is missing and the disk has twice its size free; True when it is in place."""
        if self.held:
            return True
        try:
            stat = os.statvfs(self.path.parent)
            if stat.f_bavail * stat.f_frsize < 2 * self.size:
                return False
            durable.write_atomically(self.path, bytes(self.size), mode=0o600)
        except OSError as exc:
            log.warning("store_reserve_not_made", path=str(self.path), error=str(exc))
            return False
        return True

    def release(self) -> bool:
        """Give the room back to the disk; True when there was a reserve to give."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
