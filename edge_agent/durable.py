"""Files that must survive a power cut: every file the agent writes for itself goes through here.

A write reaches the SD card only when it is synced, and a name (a file created, renamed or removed) only when its
directory is synced: a power cut forgets the rest. So a file is replaced whole or not at all (written under a
temporary name, synced, renamed over the old one, the directory synced), and a rename or removal the agent
relies on is synced in its directory before the agent acts on it.
"""

from __future__ import annotations

import os
from pathlib import Path

_CHUNK = 1024 * 1024


def sync_directory(directory: Path) -> None:
    """Make the names in ``directory`` (files created, renamed or removed there) durable."""
    handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: after a power cut it holds either its old content or ``data``, whole.

    The file keeps its permissions (``mode`` for a new file, 0o640 when not given). On an error the temporary
    file is removed and the old content is still in place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            view = memoryview(data)
            for start in range(0, len(view), _CHUNK):
                handle.write(view[start:start + _CHUNK])
            handle.flush()
            os.fsync(handle.fileno())
        keep = path.stat().st_mode & 0o777 if path.exists() else (0o640 if mode is None else mode)
        os.chmod(tmp, keep)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def replace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` (same directory) and make the rename durable."""
    os.replace(source, target)
    sync_directory(target.parent)


def remove(path: Path) -> bool:
    """Remove ``path`` and make the removal durable; False when there was nothing to remove."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    sync_directory(path.parent)
    return True
