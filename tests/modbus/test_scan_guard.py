"""`edge-agent modbus scan` never scans an RS-485 line the running agent polls: two masters garble each other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.modbus.helpers import rtu_meter_devices, socat_pair
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.site import write_site


def test_scan_refuses_the_line_of_a_running_agent(tmp_path: Path, broker: Broker) -> None:
    with socat_pair(tmp_path) as (line, _other_end):
        devices = rtu_meter_devices(line, baudrate=9600, timeout=0.2)
        config = write_site(tmp_path, broker_port=broker.port, devices=devices)
        agent = AgentProcess(config).start()
        try:
            wait_until((tmp_path / "control.sock").exists, what="the agent's control socket")
            result = subprocess.run(
                [sys.executable, "-m", "edge_agent", "modbus", "scan", "--serial", line, "--units", "1-2",
                 "--parity", "N", "--config", str(config)],
                capture_output=True, text=True, timeout=60,
            )
        finally:
            agent.terminate()
    assert result.returncode == 1
    assert "the running agent polls" in result.stderr and "Traceback" not in result.stderr
