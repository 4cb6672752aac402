"""Child processes of the harness (simulators, socat, the agent) and what /proc says about them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ProcSample:
    """One reading of a process's counters: CPU seconds, resident memory, bytes written to storage."""

    at: float
    cpu_s: float
    rss_mb: float
    write_bytes: int

    def cpu_share(self, earlier: ProcSample) -> float:
        """CPU used between the two samples, as a fraction of one core."""
        return (self.cpu_s - earlier.cpu_s) / max(self.at - earlier.at, 1e-9)


def sample(pid: int) -> ProcSample:
    """Counters of ``pid`` (Linux /proc): utime+stime, VmRSS, and write_bytes (what reached the block layer)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    written = 0
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            written = int(line.split()[1])
    return ProcSample(time.monotonic(), cpu, rss, written)


def memory_split(pid: int) -> dict[str, float]:
    """MB of ``pid``'s resident memory (``/proc/<pid>/smaps_rollup``): its proportional share (PSS: a page mapped
    by n processes counts 1/n, as a shared library's code does on a gateway where Mosquitto maps it too), the
    pages it alone holds, and those it shares with other processes."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            fields[name] = int(rest.split()[0]) / 1024
    return {"pss": fields.get("Pss", 0.0),
            "private": fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0),
            "shared": fields.get("Shared_Clean", 0.0) + fields.get("Shared_Dirty", 0.0)}


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


# Blocks of consecutive ports come from 10000-19999, below the slices the test suite's own ports come from
# (tests/support/ports.py: 20000 up, one slice per worker) and below the kernel's ephemeral range: a port of one of
# them taken between the check here and the bind by the servers the block is for made those servers fail. When
# the suite's workers run benchmark code (PYTEST_XDIST_WORKER), each searches a range of its own.
BLOCKS_FIRST, BLOCKS_RANGE, BLOCKS_WORKERS = 10_000, 10_000, 8


def free_block(count: int) -> int:
    """The first of ``count`` consecutive free TCP ports."""
    worker = "".join(ch for ch in os.environ.get("PYTEST_XDIST_WORKER", "") if ch.isdigit())
    width = BLOCKS_RANGE // BLOCKS_WORKERS
    first = BLOCKS_FIRST + (int(worker) % BLOCKS_WORKERS) * width if worker else BLOCKS_FIRST
    last = first + (width if worker else BLOCKS_RANGE) - count
    for base in range(first, last + 1, count + 11):
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports in {first}-{last + count - 1}")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Children:
    """Processes started by one scenario, stopped in reverse order; stdout/stderr go to files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(argv, stdout=log, stderr=log, env={**os.environ, **(env or {})}, cwd=cwd)
        log.close()
        self._procs.append((name, proc))
        return proc

    def python(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """``python args`` with this checkout importable (``bench`` is not installed)."""
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
        return self.start(name, [sys.executable, *args], {"PYTHONPATH": path, **(env or {})})

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self._procs if proc.poll() is None}

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        for _name, proc in reversed(self._procs):
            self.stop(proc)
        self._procs.clear()


def socat_pair(folder: Path, children: Children) -> tuple[str, str]:
    """A connected pty pair (two links in ``folder``), as an RS-485 line stand-in; no baud rate is enforced."""
    if shutil.which("socat") is None:
        raise RuntimeError("socat is not installed (apt-get install socat)")
    a, b = folder / "tty-agent", folder / "tty-sim"
    children.start("socat", ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"])
    deadline = time.monotonic() + 10
    while not (a.exists() and b.exists()):
        if time.monotonic() > deadline:
            raise RuntimeError("socat made no pty pair")
        time.sleep(0.02)
    return str(a), str(b)


RESULTS = REPO / "bench" / "results"


def run_folder(prefix: str) -> Path:
    """A fresh folder under bench/results (on disk, not tmpfs, so that bytes written are counted)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=RESULTS))


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the main thread (the agent's event loop) and of all its other threads together."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        if task.name == str(pid):
            main += cpu
        else:
            other += cpu
    return main, other
