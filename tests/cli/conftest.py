"""One real agent for the module: real Mosquitto, a real pymodbus server with simulated units, its own store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.helpers import count, site
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.ports import free_port, wait_port


@dataclass
class Running:
    config: Path
    directory: Path
    broker: Broker
    agent: AgentProcess

    @property
    def db(self) -> Path:
        return self.directory / "store.db"


@pytest.fixture(scope="module")
def modbus_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.cli.modbus_sim", str(port)])
    try:
        wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, modbus_sim: int) -> Iterator[Running]:
    directory = tmp_path_factory.mktemp("running")
    broker = Broker(directory).start()
    config = site(directory, broker_port=broker.port, sim_port=modbus_sim, lorawan=True)
    agent = AgentProcess(config).start()
    db = directory / "store.db"
    try:
        wait_until((directory / "control.sock").exists, what="control socket")
        read = "SELECT count(DISTINCT device) FROM records WHERE kind = 0 AND device IN ('cabinet', 'meter')"
        wait_until(lambda: count(db, read) == 2, what="first readings of both Modbus devices")
        yield Running(config, directory, broker, agent)
    finally:
        if agent.proc is not None:
            agent.terminate()
        broker.stop()
