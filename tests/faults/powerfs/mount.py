"""The power-cut filesystem as a FUSE mount (libfuse 3 from Debian's ``fuse3``, through the ``mfusepy`` binding).

    python -m tests.faults.powerfs.mount MOUNTPOINT

Programs on the mount see an ordinary filesystem; the disk model (``model.py``) decides what a cut keeps. The
test drives it through one JSON command a line on stdin, one JSON answer a line on stdout:

- ``{"cmd": "arm", "op": "fsync", "name": "store.db-wal", "count": 3, "after": false}``: the power goes off at
  the 3rd matching change (``op`` one of write, truncate, fsync, create, unlink, rename, mkdir, rmdir, chmod,
  utimens, or ``*`` for any; ``name`` a glob on the file's name; for a rename, either name). ``after``: the
  change itself is made first.
- ``{"cmd": "freeze"}``: the power goes off now.
- ``{"cmd": "status"}``: whether the power is off, what it went off on, counts of changes per kind.
- ``{"cmd": "cut"}``: the machine restarts: everything not durable is dropped, the power is back.
- ``{"cmd": "quit"}``: unmount and exit (also on end of input).

"Power off" (frozen): every change from then on blocks until the cut and then fails; reads go on, so the test can
note what the dead machine's programs had seen as committed. The test kills those programs before the cut.

The mount asks the kernel not to cache names or attributes (timeouts 0), and files bypass its page cache (direct
I/O), so after a cut programs read what the model kept. The exception is SQLite's ``-shm`` index, which SQLite
maps in memory: the kernel writes it back when it pleases, so its writes are never frozen; SQLite never syncs it
and rebuilds it after a crash. Locks are left to the kernel (no ``lock`` operation).

A program blocked in a change cannot die until the filesystem answers: kill it, then cut (the cut answers every
blocked change with EIO, and the program dies before it runs another instruction), then wait for it.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import mfusepy

from tests.faults.powerfs.model import PAGE, Disk, FsError, Node

T = TypeVar("T")
MAPPED = "-shm"  # SQLite's shared-memory index: mapped, written back by the kernel, never synced


@dataclass
class Trigger:
    op: str
    name: str
    count: int
    after: bool


class PowerCutFs(mfusepy.Operations):  # type: ignore[misc]
    use_ns = True

    def __init__(self) -> None:
        self.disk = Disk()
        self.power = threading.Condition()  # guards the disk, the handles and the power state
        self.handles: dict[int, tuple[int, str]] = {}
        self.next_fh = 1
        self.frozen: str | None = None  # what the power went off on
        self.trigger: Trigger | None = None
        self.epoch = 0
        self.changes: Counter[str] = Counter()

    # -- the power -----------------------------------------------------------------------------

    def _change(self, op: str, names: tuple[str, ...], action: Callable[[], T]) -> T:
        """Run one change, unless the power is off (then wait for the cut and fail, as a dead machine would)."""
        with self.power:
            if self.frozen is None:
                fire = self._fires(op, names)
                if fire is None or fire.after:
                    result = action()
                    self.changes[op] += 1
                    if fire is not None:
                        self._freeze(f"after {op} {' -> '.join(names)}")
                    return result
                self._freeze(f"at {op} {' -> '.join(names)}")
            epoch = self.epoch
            self.power.wait_for(lambda: self.epoch != epoch)
            raise FsError(errno.EIO)

    def _fires(self, op: str, names: tuple[str, ...]) -> Trigger | None:
        trigger = self.trigger
        if trigger is None or trigger.op not in (op, "*"):
            return None
        if not any(fnmatch.fnmatch(os.path.basename(name), trigger.name) for name in names):
            return None
        trigger.count -= 1
        return trigger if trigger.count <= 0 else None

    def _freeze(self, what: str) -> None:
        self.frozen = what
        self.trigger = None
        self.disk.recent.append(f"power off {what}")

    def command(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        with self.power:
            if cmd == "arm":
                self.trigger = Trigger(str(request["op"]), str(request.get("name", "*")),
                                       int(request.get("count", 1)), bool(request.get("after", False)))
                return {"ok": True}
            if cmd == "freeze":
                if self.frozen is None:
                    self._freeze("now")
                return {"ok": True}
            if cmd == "status":
                return {"ok": True, "frozen": self.frozen, "armed": self.trigger is not None,
                        "changes": dict(self.changes), "recent": list(self.disk.recent),
                        "unsynced_names": self.disk.unsynced_names()}
            if cmd == "cut":
                recent = list(self.disk.recent)
                loss = self.disk.cut()
                self.handles.clear()
                frozen, self.frozen, self.trigger = self.frozen, None, None
                self.epoch += 1
                self.power.notify_all()
                return {"ok": True, "frozen": frozen, "lost_pages": loss.pages, "lost_names": loss.names,
                        "lost_files": loss.files, "recent": recent}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    # -- helpers -------------------------------------------------------------------------------

    def _node(self, path: str | None, fh: Any = None) -> Node:
        fh = _number(fh)
        if fh is not None and fh in self.handles:
            return self.disk.nodes[self.handles[fh][0]]
        if path is None:
            raise FsError(errno.EBADF)
        return self.disk.lookup(path)

    def _open(self, node: Node, path: str) -> int:
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = (node.ino, path)
        return fh

    def _name(self, path: str | None, fh: Any) -> str:
        fh = _number(fh)
        if fh is not None and fh in self.handles:
            return self.handles[fh][1]
        return path or "?"

    # -- reading -------------------------------------------------------------------------------

    def getattr(self, path: str | None, fh: Any = None) -> dict[str, Any]:
        with self.power:
            node = self._node(path, fh)
            size = len(node.data)
            mtime = int(node.mtime * 1e9)
            return {"st_mode": node.mode, "st_ino": node.ino, "st_nlink": 2 if node.is_dir else 1,
                    "st_size": size, "st_blocks": (size + 511) // 512, "st_blksize": PAGE,
                    "st_mtime": mtime, "st_ctime": mtime, "st_atime": mtime, "st_uid": 0, "st_gid": 0}

    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        with self.power:
            node = self.disk.lookup(path)
            names = [(".", node), ("..", node)] + [(name, self.disk.nodes[ino]) for name, ino in node.entries.items()]
            return [(name, {"st_mode": entry.mode, "st_ino": entry.ino}, 0) for name, entry in names]

    def open(self, path: str, fi: Any) -> int:
        if fi.flags & os.O_TRUNC:  # the kernel leaves O_TRUNC to the filesystem (atomic_o_trunc)
            self._change("truncate", (path,), lambda: self.disk.truncate(self.disk.lookup(path), 0, path))
        with self.power:
            node = self.disk.lookup(path)
            if node.is_dir and fi.flags & (os.O_WRONLY | os.O_RDWR):
                raise FsError(errno.EISDIR)
            _direct(fi, path)
            fi.fh = self._open(node, path)
        return 0

    def read(self, path: str | None, size: int, offset: int, fh: Any) -> bytes:
        with self.power:
            return self.disk.read(self._node(path, fh), size, offset)

    def statfs(self, path: str) -> dict[str, int]:
        with self.power:
            used = sum(len(node.data) for node in self.disk.nodes.values()) // PAGE
        blocks = 262_144  # 1 GiB
        return {"f_bsize": PAGE, "f_frsize": PAGE, "f_blocks": blocks, "f_bfree": blocks - used,
                "f_bavail": blocks - used, "f_files": 65_536, "f_ffree": 65_536 - len(self.disk.nodes),
                "f_namemax": 255}

    def access(self, path: str, amode: int) -> int:
        with self.power:
            self.disk.lookup(path)
        return 0

    def flush(self, path: str | None, fh: Any) -> int:
        return 0

    def release(self, path: str | None, fh: Any) -> int:
        with self.power:
            self.handles.pop(_number(fh) or 0, None)
        return 0

    # -- changing ------------------------------------------------------------------------------

    def create(self, path: str, mode: int, fi: Any) -> int:
        def action() -> int:
            try:
                node = self.disk.lookup(path)
                if fi.flags & os.O_TRUNC:
                    self.disk.truncate(node, 0, path)
            except FsError:
                node = self.disk.create(path, stat.S_IFREG | (mode & 0o7777))
            _direct(fi, path)
            fi.fh = self._open(node, path)
            return 0
        return self._change("create", (path,), action)

    def mknod(self, path: str, mode: int, dev: int) -> int:
        """A unix socket's name (the agent's control socket): a name like any other, nothing to sync in it."""
        if not stat.S_ISSOCK(mode) and not stat.S_ISFIFO(mode):
            raise FsError(errno.EPERM)
        self._change("create", (path,), lambda: self.disk.create(path, mode))
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._change("mkdir", (path,), lambda: self.disk.create(path, stat.S_IFDIR | (mode & 0o7777)))
        return 0

    def write(self, path: str | None, data: bytes, offset: int, fh: Any) -> int:
        name = self._name(path, fh)
        if name.endswith(MAPPED):  # written back by the kernel when it pleases: never frozen, never synced
            with self.power:
                return self.disk.write(self._node(path, fh), data, offset, name)
        return self._change("write", (name,), lambda: self.disk.write(self._node(path, fh), data, offset, name))

    def truncate(self, path: str | None, length: int, fh: Any = None) -> int:
        name = self._name(path, fh)
        self._change("truncate", (name,), lambda: self.disk.truncate(self._node(path, fh), length, name))
        return 0

    def fsync(self, path: str | None, datasync: int, fh: Any) -> int:
        name = self._name(path, fh)
        self._change("fsync", (name,), lambda: self.disk.fsync(self._node(path, fh), name))
        return 0

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> int:
        name = path or "/"
        self._change("fsync", (name,), lambda: self.disk.fsync(self.disk.lookup(name), name))
        return 0

    def unlink(self, path: str) -> int:
        self._change("unlink", (path,), lambda: self.disk.unlink(path))
        return 0

    def rmdir(self, path: str) -> int:
        self._change("rmdir", (path,), lambda: self.disk.unlink(path, directory=True))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._change("rename", (old, new), lambda: self.disk.rename(old, new))
        return 0

    def chmod(self, path: str | None, mode: int) -> int:
        def action() -> None:
            node = self._node(path)
            node.mode = stat.S_IFMT(node.mode) | (mode & 0o7777)
        self._change("chmod", (path or "?",), action)
        return 0

    def chown(self, path: str | None, uid: int, gid: int) -> int:
        return 0

    def utimens(self, path: str | None, times: tuple[int, int] | None = None) -> int:
        def action() -> None:
            self._node(path).mtime = (times[1] / 1e9) if times else time.time()
        self._change("utimens", (path or "?",), action)
        return 0


def _number(fh: Any) -> int | None:
    """A handle as the binding passes it: an int, or (raw_fi) the fuse_file_info carrying it."""
    if fh is None or isinstance(fh, int):
        return fh
    return int(fh.fh)


def _direct(fi: Any, path: str) -> None:
    """Files bypass the kernel's page cache (so a change blocked by the power cut holds no page lock that a reader
    would wait on, and a cut leaves no stale page behind), except SQLite's -shm, which must be mapped in memory."""
    fi.direct_io = 0 if path.endswith(MAPPED) else 1


def _control(fs: PowerCutFs, mountpoint: str) -> None:
    """Answer the test's commands; unmount at ``quit`` or when the test goes away."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            request = {}
        if request.get("cmd") == "quit":
            break
        answer = fs.command(request)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    with fs.power:  # wake anything waiting on a power that will never come back
        fs.epoch += 1
        fs.power.notify_all()
    subprocess.run(["fusermount3", "-u", "-z", mountpoint], check=False, capture_output=True)


def main(argv: list[str]) -> int:
    mountpoint = argv[1]
    fs = PowerCutFs()
    threading.Thread(target=_control, args=(fs, mountpoint), name="control", daemon=True).start()
    mfusepy.FUSE(fs, mountpoint, raw_fi=True, foreground=True, fsname="powercut", subtype="powercut", attr_timeout=0,
                 entry_timeout=0, negative_timeout=0, use_ino=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
