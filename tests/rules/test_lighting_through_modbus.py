"""The lights follow the program through a real Modbus cabinet all night with the uplink down, and a reboot
mid-night restores at once the level the program wants at that minute.

The whole agent runs in this process on a fake clock (the program's instants are reached by moving the clock,
not by waiting a night); the cabinet is a real pymodbus TCP server; the upstream broker is a closed port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.agent import Agent
from edge_agent.clock import FakeClock
from edge_agent.config.load import load_config
from edge_agent.modbus.simulator import SimUnit, make_units, start_tcp
from tests.support.ports import free_port

PARIS = ZoneInfo("Europe/Paris")


def site(tmp_path: Path, modbus_port: int) -> Path:
    text = f"""
gateway_id = "esternay-gw1"

[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[upstream]
host = "127.0.0.1"
port = {free_port()}

[store]
path = "{tmp_path / 'store.db'}"
commit_interval = 0.05

[control]
socket = "{tmp_path / 'control.sock'}"

[lighting]
safe_level = 100

[[lighting.programs]]
name = "dimmed-cutoff"
periods = [
  {{ start = "sunset", end = "22:00", level = 100 }},
  {{ start = "22:00", end = "00:30", level = 40 }},
  {{ start = "05:30", end = "sunrise", level = 100 }},
]

[[lighting.calendars]]
name = "village"
rules = [{{ program = "dimmed-cutoff" }}]

[[lighting.groups]]
name = "centre"
category = "road"
calendar = "village"
members = [{{ device = "cabinet-mairie", point = "circuit1_level" }}]

[[devices]]
driver = "modbus"
name = "cabinet-mairie"
profile = "streetlight_cabinet_4c"
host = "127.0.0.1"
port = {modbus_port}
poll_interval = 3600
"""
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def at(local: str) -> float:
    return datetime.fromisoformat(local).replace(tzinfo=PARIS).timestamp()


def circuit(unit: SimUnit) -> tuple[int, bool]:
    level = unit.get("holding", 0, 1)
    on = unit.get("coil", 0, 1)
    assert isinstance(level, list) and isinstance(on, list)
    return int(level[0]), bool(on[0])


@contextlib.asynccontextmanager
async def running_agent(config: Path, clock: FakeClock) -> AsyncIterator[Agent]:
    agent = Agent(load_config(config), clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    for _ in range(500):  # the engine's own first tick, actions carried out
        if agent.rules is not None and agent.rules.actions_done + agent.rules.actions_failed > 0:
            break
        await asyncio.sleep(0.02)
    try:
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def walk(agent: Agent, clock: FakeClock, until: float, step: float = 60.0) -> None:
    assert agent.rules is not None
    while clock.now() + step <= until:
        clock.advance(step)
        await agent.rules.tick()


@pytest.fixture
def cabinet() -> dict[int, SimUnit]:
    return make_units({1: "streetlight_cabinet_4c"})


def test_lights_follow_the_program_all_night_with_the_uplink_down(tmp_path: Path,
                                                                 cabinet: dict[int, SimUnit]) -> None:
    asyncio.run(whole_night(tmp_path, cabinet))


def test_reboot_mid_night_restores_the_programmed_level_at_once(tmp_path: Path, cabinet: dict[int, SimUnit]) -> None:
    asyncio.run(reboot_mid_night(tmp_path, cabinet))


async def whole_night(tmp_path: Path, cabinet: dict[int, SimUnit]) -> None:
    port = free_port()
    server = await start_tcp(cabinet, port)
    clock = FakeClock(at("2026-12-10T15:00:00"))
    try:
        async with running_agent(site(tmp_path, port), clock) as agent:
            expectations = [
                ("2026-12-10T15:00:00", (0, False)),    # daytime: off
                ("2026-12-10T17:15:00", (100, True)),   # after sunset (16:52 in Esternay)
                ("2026-12-10T22:30:00", (40, True)),    # dimmed
                ("2026-12-11T00:45:00", (0, False)),    # night cut-off
                ("2026-12-11T05:45:00", (100, True)),   # morning
                ("2026-12-11T09:30:00", (0, False)),    # after sunrise (08:33)
            ]
            for local, wanted in expectations:
                await walk(agent, clock, at(local))
                assert circuit(cabinet[1]) == wanted, f"at {local}"
            assert not agent.uplink.connected, "the upstream broker was meant to be down all night"
            assert agent.stats is not None
    finally:
        await server.shutdown()


async def reboot_mid_night(tmp_path: Path, cabinet: dict[int, SimUnit]) -> None:
    port = free_port()
    server = await start_tcp(cabinet, port)
    config = site(tmp_path, port)
    try:
        clock = FakeClock(at("2026-12-10T22:10:00"))
        async with running_agent(config, clock) as agent:
            await walk(agent, clock, at("2026-12-10T23:00:00"))
            assert circuit(cabinet[1]) == (40, True)
        cabinet[1].set("circuit1_level", 100)  # the cabinet came back from a power cut at full power
        cabinet[1].set("circuit1_on", True)
        rebooted = FakeClock(at("2026-12-10T23:47:00"))
        async with running_agent(config, rebooted):
            assert circuit(cabinet[1]) == (40, True), "the first tick after a reboot must restore the level"
    finally:
        await server.shutdown()
