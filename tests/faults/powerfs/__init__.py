"""A filesystem that loses what was not synced when the power is cut: the test's handle on it.

``PowerCutDisk`` mounts ``tests/faults/powerfs/mount.py`` (a FUSE process of its own) and drives it: arm a cut at
the n-th change of some kind to some file, or cut now; note what was lost. See ``model.py`` for what survives.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


class PowerCutDisk:
    """One mount of the power-cut filesystem at ``mountpoint``."""

    def __init__(self, mountpoint: Path) -> None:
        self.mountpoint = mountpoint
        mountpoint.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.powerfs.mount", str(mountpoint)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )
        deadline = time.monotonic() + 15
        while not os.path.ismount(mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the power-cut filesystem did not mount at {mountpoint}")
            time.sleep(0.02)
        self.cuts: list[dict[str, Any]] = []

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        if not answer.get("ok"):
            raise RuntimeError(f"power-cut filesystem: {answer}")
        return answer

    def arm(self, op: str, name: str = "*", count: int = 1, *, after: bool = False) -> None:
        """The power goes off at the ``count``-th ``op`` on a file whose name matches ``name`` (a glob)."""
        self.ask(cmd="arm", op=op, name=name, count=count, after=after)

    def freeze(self) -> None:
        """The power goes off now: changes block from here on; reads go on."""
        self.ask(cmd="freeze")

    def status(self) -> dict[str, Any]:
        return self.ask(cmd="status")

    def wait_frozen(self, timeout: float) -> str | None:
        """What the power went off on, once it has (None if it has not within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frozen = self.status()["frozen"]
            if frozen is not None:
                return str(frozen)
            time.sleep(0.02)
        return None

    def cut(self) -> dict[str, Any]:
        """The machine restarts: everything not synced is gone. Kill its programs first."""
        answer = self.ask(cmd="cut")
        self.cuts.append(answer)
        return answer

    def kill_and_cut(self, *procs: subprocess.Popen[Any]) -> dict[str, Any]:
        """The power cut as the machine's programs know it: SIGKILL them, cut, then reap them (one blocked in a
        change cannot die before the cut answers it)."""
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        answer = self.cut()
        for proc in procs:
            proc.wait(30)
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.ismount(self.mountpoint):
            subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)], check=False, capture_output=True)


def usable() -> str | None:
    """Why the power-cut filesystem cannot run here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None:
        return "no fusermount3 (Debian package fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"no FUSE binding: {exc}"
    return None


@contextlib.contextmanager
def power_cut_disk(mountpoint: Path) -> Iterator[PowerCutDisk]:
    """A mounted power-cut filesystem; the test is skipped where FUSE cannot run."""
    reason = usable()
    if reason is not None:
        pytest.skip(f"the power-cut filesystem needs FUSE: {reason}")
    disk = PowerCutDisk(mountpoint)
    try:
        yield disk
    finally:
        disk.close()
