"""Shared helpers of the Modbus tests: site configs, a recording sink, socat pty pairs."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.reading import Event, Reading, Record
from edge_agent.services import ServiceContext

T = TypeVar("T")


def site(devices: list[dict[str, Any]], modbus: dict[str, Any] | None = None) -> SiteConfig:
    return SiteConfig.model_validate({
        "gateway_id": "gw-test",
        "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
        "modbus": modbus or {},
        "devices": devices,
    })


def device(name: str, profile: str, **kwargs: Any) -> dict[str, Any]:
    return {"driver": "modbus", "name": name, "profile": profile, **kwargs}


class ListSink:
    """Collects each submitted batch as it is (the agent's store is exercised by its own tests;
    here we check what the driver hands over and how: one batch per poll cycle, one per block on a serial line)."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[Record]]] = []

    async def submit(self, records: Sequence[Record]) -> list[int]:
        self.batches.append((time.monotonic(), list(records)))
        return list(range(len(records)))

    def readings(self, device: str) -> list[list[Reading]]:
        out = []
        for _, batch in self.batches:
            found = [r for r in batch if isinstance(r, Reading) and r.device == device]
            if found:
                out.append(found)
        return out

    def times(self, device: str) -> list[float]:
        return [t for t, batch in self.batches if any(isinstance(r, Reading) and r.device == device for r in batch)]

    def events(self, device: str) -> list[Event]:
        return [r for _, batch in self.batches for r in batch if isinstance(r, Event) and r.device == device]


def context(config: SiteConfig, sink: ListSink) -> ServiceContext:
    return ServiceContext(config=config, sink=sink, clock=SystemClock(assume_synced=True))


@contextmanager
def socat_pair(directory: Path) -> Iterator[tuple[str, str]]:
    """Two linked pseudo-terminals (a null-modem cable in software); skips the test without socat."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed: RTU tests need it to make a pty pair (apt-get install socat)")
    a, b = directory / "ttyA", directory / "ttyB"
    proc = subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("socat did not create the pty pair")
            time.sleep(0.02)
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def run_async(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """``asyncio.run`` with a watchdog: on a hang, print every task's stack and fail instead of waiting."""

    async def guarded() -> T:
        task = asyncio.ensure_future(coro)
        done, _ = await asyncio.wait([task], timeout=timeout)
        if not done:
            for other in asyncio.all_tasks():
                other.print_stack(limit=8, file=sys.stderr)
            task.cancel()
            pytest.fail(f"scenario still running after {timeout} s (task stacks on stderr)")
        return task.result()

    return asyncio.run(guarded())


def rtu_meter_devices(port: str, *, baudrate: int, timeout: float) -> str:
    """A site config's TOML for one Eastron meter (unit 1, polled every second) on an RS-485 bus at ``port``."""
    return f"""
[modbus]
buses = [{{ name = "rs485", port = "{port}", baudrate = {baudrate}, parity = "N", timeout = {timeout} }}]

[[devices]]
driver = "modbus"
name = "meter"
profile = "eastron_sdm120"
bus = "rs485"
unit = 1
poll_interval = 1
"""
