"""read_device against a real Modbus TCP device (pymodbus server), and the inventory following its state."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.modbus.simulator import SimUnit, make_units, start_tcp
from tests.contract.support import GATEWAY, PREFIX, Hypervisor, Pki, Schemas, tls_site
from tests.support.agent_proc import AgentProcess
from tests.support.broker import Broker
from tests.support.ports import free_port

INVENTORY = f"{PREFIX}/{GATEWAY}/inventory"


@pytest.fixture
def meter() -> Iterator[tuple[int, SimUnit]]:
    """An Eastron SDM120 served over Modbus TCP by pymodbus, in a thread of its own."""
    port, units = free_port(), make_units({1: "eastron_sdm120"})
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start_tcp(units, port), loop).result(10)
    yield port, units[1]
    asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def devices(port: int) -> str:
    return f"""
[modbus]
tcp_timeout = 0.3
[modbus.backoff]
initial = 0.2
maximum = 0.4
offline_after = 2

[[devices]]
driver = "modbus"
name = "meter"
profile = "eastron_sdm120"
host = "127.0.0.1"
port = {port}
unit = 1
poll_interval = 0.5
"""


def meter_online(hypervisor: Hypervisor) -> list[bool | None]:
    return [m.json()["devices"][0]["online"] for m in hypervisor.snapshot() if m.topic == INVENTORY]


def test_read_device_now_and_inventory_on_change(tmp_path: Path, secure_broker: Broker, pki: Pki,
                                                 meter: tuple[int, SimUnit]) -> None:
    port, unit = meter
    schemas = Schemas()
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(tls_site(tmp_path, secure_broker, pki, devices=devices(port))).start()
    try:
        hypervisor.wait_for(lambda ms: True in meter_online(hypervisor))
        answer = hypervisor.ask("read_device", {"device": "meter"})
        schemas.check("commandResponse", answer)
        assert answer["ok"] is True, answer
        assert answer["result"]["source"] == "device"
        voltage = next(r for r in answer["result"]["readings"] if r["point"] == "voltage")
        assert voltage["unit"] == "V" and voltage["quality"] == "good" and 200 < voltage["value"] < 260

        unit.mode = "silent"  # the meter stops answering
        failed = hypervisor.ask("read_device", {"device": "meter"})
        assert failed["ok"] is False and failed["error"]["code"] == "device_failed", failed
        hypervisor.wait_for(lambda ms: meter_online(hypervisor)[-1] is False, timeout=20)
        unit.mode = "ok"
        hypervisor.wait_for(lambda ms: meter_online(hypervisor)[-1] is True, timeout=20)
        states = meter_online(hypervisor)
        assert all(a != b for a, b in itertools.pairwise(states)), f"published without change: {states}"
        inventory = [m for m in hypervisor.snapshot() if m.topic == INVENTORY]
        late = Hypervisor(secure_broker.port, pki)  # connects later: gets the last state, retained
        try:
            retained = late.wait_for(lambda ms: [m for m in ms if m.topic == INVENTORY and m.retain])
            assert retained[0].json()["devices"][0]["online"] is True
        finally:
            late.close()
        for message in inventory:
            schemas.check("inventory", message.json())
        assert inventory[-1].json()["devices"][0]["fiware_type"] == "ACMeasurement"  # an Eastron SDM120 meter
    finally:
        agent.terminate()
        hypervisor.close()
