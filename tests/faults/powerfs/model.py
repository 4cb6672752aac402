"""What a disk keeps through a power cut: the in-memory model behind the power-cut filesystem.

Every file and directory has two states: what programs see (the page cache) and what the medium holds (the last
state made durable). A write or a truncate changes only what programs see, page by page; ``fsync``/``fdatasync``
of a file makes its content and size durable. Names follow directories, as POSIX has it: creating, renaming or
unlinking a name changes a directory, and only an ``fsync`` of that directory makes the change durable. A
``cut`` throws away everything not durable: every file goes back to its last synced content, every directory to
its last synced names, and a file no durable name reaches is gone.

Not modelled: attributes (mode, owner, times) survive as they are; hard links and symbolic links are refused;
a sync is all-or-nothing (no torn page within a synced file).

Thread-safety is the caller's: the FUSE operations hold one lock around every call.
"""

from __future__ import annotations

import errno
import stat
import time
from collections import deque
from dataclasses import dataclass, field

PAGE = 4096


class FsError(OSError):
    def __init__(self, code: int) -> None:
        super().__init__(code, errno.errorcode.get(code, str(code)))


@dataclass
class Node:
    """One inode: a file (``data`` and ``durable``) or a directory (``entries`` and ``durable_entries``)."""

    ino: int
    mode: int
    data: bytearray = field(default_factory=bytearray)
    durable: bytearray = field(default_factory=bytearray)
    dirty: set[int] = field(default_factory=set)  # pages changed since the last sync
    entries: dict[str, int] = field(default_factory=dict)
    durable_entries: dict[str, int] = field(default_factory=dict)
    mtime: float = field(default_factory=time.time)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    def mark(self, start: int, end: int) -> None:
        """Pages covering bytes [start, end) changed."""
        if end > start:
            self.dirty.update(range(start // PAGE, (end - 1) // PAGE + 1))

    def sync(self) -> int:
        """Make content and size durable; return the number of pages written to the medium."""
        size = len(self.data)
        if len(self.durable) > size:
            del self.durable[size:]
        elif len(self.durable) < size:
            self.durable.extend(bytes(size - len(self.durable)))
        written = 0
        for page in self.dirty:
            start = page * PAGE
            if start < size:
                end = min(start + PAGE, size)
                self.durable[start:end] = self.data[start:end]
                written += 1
        self.dirty.clear()
        return written


@dataclass(frozen=True)
class Loss:
    """What one cut threw away."""

    pages: int  # file pages written but never synced
    names: int  # directory changes (created, renamed, removed names) never synced
    files: int  # files no durable name reaches any more


@dataclass
class Disk:
    """The whole tree, rooted at inode 1."""

    nodes: dict[int, Node] = field(default_factory=dict)
    next_ino: int = 2
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=12))  # the last changes, for reports

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes[1] = Node(1, stat.S_IFDIR | 0o755)

    # -- names ---------------------------------------------------------------------------------

    def lookup(self, path: str) -> Node:
        node = self.nodes[1]
        for part in _parts(path):
            if not node.is_dir:
                raise FsError(errno.ENOTDIR)
            ino = node.entries.get(part)
            if ino is None:
                raise FsError(errno.ENOENT)
            node = self.nodes[ino]
        return node

    def _parent(self, path: str) -> tuple[Node, str]:
        parts = _parts(path)
        if not parts:
            raise FsError(errno.EBUSY)
        parent = self.lookup("/" + "/".join(parts[:-1]))
        if not parent.is_dir:
            raise FsError(errno.ENOTDIR)
        return parent, parts[-1]

    def create(self, path: str, mode: int) -> Node:
        parent, name = self._parent(path)
        if name in parent.entries:
            raise FsError(errno.EEXIST)
        node = Node(self.next_ino, mode)
        self.next_ino += 1
        self.nodes[node.ino] = node
        parent.entries[name] = node.ino
        parent.mtime = time.time()
        self._note("create", path)
        return node

    def unlink(self, path: str, *, directory: bool = False) -> None:
        parent, name = self._parent(path)
        node = self.lookup(path)
        if directory and not node.is_dir:
            raise FsError(errno.ENOTDIR)
        if not directory and node.is_dir:
            raise FsError(errno.EISDIR)
        if directory and node.entries:
            raise FsError(errno.ENOTEMPTY)
        del parent.entries[name]
        parent.mtime = time.time()
        self._note("rmdir" if directory else "unlink", path)

    def rename(self, old: str, new: str, *, no_replace: bool = False) -> None:
        source_parent, source_name = self._parent(old)
        target_parent, target_name = self._parent(new)
        node = self.lookup(old)
        existing = target_parent.entries.get(target_name)
        if existing is not None:
            if no_replace:
                raise FsError(errno.EEXIST)
            replaced = self.nodes[existing]
            if replaced.is_dir and (not node.is_dir or replaced.entries):
                raise FsError(errno.ENOTEMPTY if node.is_dir else errno.EISDIR)
            if node.is_dir and not replaced.is_dir:
                raise FsError(errno.ENOTDIR)
        del source_parent.entries[source_name]
        target_parent.entries[target_name] = node.ino
        source_parent.mtime = target_parent.mtime = time.time()
        self._note("rename", f"{old} -> {new}")

    def listing(self, path: str) -> list[str]:
        node = self.lookup(path)
        if not node.is_dir:
            raise FsError(errno.ENOTDIR)
        return list(node.entries)

    # -- content -------------------------------------------------------------------------------

    def read(self, node: Node, size: int, offset: int) -> bytes:
        return bytes(node.data[offset:offset + size])

    def write(self, node: Node, data: bytes, offset: int, name: str = "?") -> int:
        end = offset + len(data)
        old_size = len(node.data)
        if offset > old_size:
            node.data.extend(bytes(offset - old_size))
            node.mark(old_size, offset)
        node.data[offset:end] = data
        node.mark(offset, end)
        node.mtime = time.time()
        self._note("write", name)
        return len(data)

    def truncate(self, node: Node, length: int, name: str = "?") -> None:
        old_size = len(node.data)
        if length < old_size:
            del node.data[length:]
        else:
            node.data.extend(bytes(length - old_size))
        node.mark(min(old_size, length), max(old_size, length))
        node.mtime = time.time()
        self._note("truncate", name)

    def fsync(self, node: Node, name: str = "?") -> None:
        """Sync a file's content, or a directory's names."""
        if node.is_dir:
            node.durable_entries = dict(node.entries)
        else:
            node.sync()
        self._note("fsync", name)

    def unsynced_names(self) -> list[str]:
        """Names whose change (created, renamed, removed) a cut would undo."""
        out = []
        for node in self.nodes.values():
            if node.is_dir:
                for name in sorted(node.entries.keys() | node.durable_entries.keys()):
                    if node.entries.get(name) != node.durable_entries.get(name):
                        out.append(f"{node.ino}/{name}")
        return out

    # -- the cut -------------------------------------------------------------------------------

    def cut(self) -> Loss:
        """Power off and on: only what was synced remains."""
        names = 0
        pages = 0
        for node in self.nodes.values():
            if node.is_dir:
                names += _changes(node.entries, node.durable_entries)
                node.entries = dict(node.durable_entries)
            else:
                pages += len(node.dirty)
                node.data = bytearray(node.durable)
                node.dirty.clear()
        reachable = self._reachable()
        files = sum(1 for ino, node in self.nodes.items() if ino not in reachable and not node.is_dir)
        self.nodes = {ino: node for ino, node in self.nodes.items() if ino in reachable}
        self._note("cut", "/")
        return Loss(pages=pages, names=names, files=files)

    def _reachable(self) -> set[int]:
        seen = {1}
        todo = [1]
        while todo:
            node = self.nodes[todo.pop()]
            for ino in node.entries.values():
                if ino not in seen and ino in self.nodes:
                    seen.add(ino)
                    if self.nodes[ino].is_dir:
                        todo.append(ino)
        return seen

    def _note(self, op: str, what: str) -> None:
        self.recent.append(f"{op} {what}")


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _changes(now: dict[str, int], durable: dict[str, int]) -> int:
    return sum(1 for name in now.keys() | durable.keys() if now.get(name) != durable.get(name))
