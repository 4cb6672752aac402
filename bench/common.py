"""Shared bits of the benchmarks: process counters, a throw-away Mosquitto, printing figures."""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.tls import Pki


def io_written() -> int | None:
    """Bytes this process caused to be written to storage (Linux /proc/self/io), None where unknown."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mosquitto:
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    tls_port: int = 0  # with ``start(tls=True)``: a second listener, TLS with client certificates (``tls``)
    tls: Pki | None = None

    @classmethod
    def start(cls, *, tls: bool = False) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        workdir = Path(tempfile.mkdtemp(prefix="bench-mosquitto-"))
        port = free_port()
        conf = workdir / "mosquitto.conf"
        lines = (f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                 "max_queued_messages 0\nmax_inflight_messages 0\n")
        pki, tls_port = None, 0
        if tls:
            from bench.tls import listener, make_pki

            pki, tls_port = make_pki(workdir / "pki"), free_port()
            lines += listener(tls_port, pki)
        conf.write_text(lines)
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                if tls_port:
                    socket.create_connection(("127.0.0.1", tls_port), 0.2).close()
                return cls(port, proc, workdir, tls_port, pki)
            except OSError:
                time.sleep(0.05)
        proc.kill()
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def report(title: str, figures: dict[str, Any], out: Path | None = None) -> None:
    """Print figures as an aligned table, and optionally append them as JSON."""
    print(f"\n== {title}")
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as handle:
            handle.write(json.dumps({"scenario": title, **figures}) + "\n")


def env_summary() -> str:
    return f"{os.cpu_count()} cores, Python {'.'.join(map(str, __import__('sys').version_info[:3]))}"
