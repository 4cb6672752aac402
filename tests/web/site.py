"""The web tests' site: a real agent with a Modbus cabinet and meter (real pymodbus), two LoRaWAN devices whose
uplinks reach it through a real Mosquitto as ChirpStack's MQTT integration publishes them, a lighting group on
the cabinet, a threshold alarm, and the page itself as a separate process (``edge-agent web``)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pymodbus.client import ModbusTcpClient

from tests.cli.helpers import LAMP_APP, LAMP_EUI, LIGHTING, lorawan_device, modbus_devices
from tests.lorawan.support import Publisher, event_topic, uplink_event
from tests.support.agent_proc import AgentProcess
from tests.support.site import simulated_devices, write_site

PASSWORD = "lanterne-esternay-51"
BIN_EUI = "a84041000181c0de"
CABINET_UNIT = 2
CIRCUIT1_LEVEL = 0  # holding register of circuit1_level in drivers/modbus/streetlight_cabinet_4c.toml

LIGHTING_AND_ALARMS = LIGHTING.replace("safe_level = 100\n", "safe_level = 100\ntick_s = 0.5\n") + """
[[alarms]]
kind = "threshold"
name = "bin-full"
device = "bin-*"
point = "fill_level"
raise_above = 80
clear_at = 60
"""

BIN_DEVICE = f"""
[[devices]]
driver = "lorawan"
name = "bin-mairie"
dev_eui = "{BIN_EUI}"
codec = "dragino_ldds75"
application_id = "{LAMP_APP}"
uplink_interval = 1200
bin = {{ d_empty_mm = 3000, d_full_mm = 300, sensor_offset_mm = 100 }}
"""


def write_web_site(directory: Path, *, broker_port: int, sim_port: int, web_port: int) -> Path:
    devices = modbus_devices(sim_port) + "\n" + simulated_devices(count=1, poll=0.5, points=1) + lorawan_device() \
        + BIN_DEVICE
    extra = (f"\n[chirpstack]\nport = {broker_port}\n\n[web]\nport = {web_port}\n"
             f'password_file = "{directory / "web-password"}"\nidle_exit_s = 0\n' + LIGHTING_AND_ALARMS)
    return write_site(directory, broker_port=broker_port, devices=devices, extra=extra)


def seed_history(db: Path, now: float) -> None:
    """A day of the meter's voltage in the store before the agent starts (evening sag, a 2-hour gap at night)."""
    import math

    from edge_agent.config.store import StoreConfig
    from edge_agent.reading import Reading
    from edge_agent.store.store import Store

    store = Store.open(StoreConfig(path=db, synchronous="normal"))
    try:
        readings = [Reading("meter", "voltage", round(231 - 4 * math.sin(2 * math.pi * minute / 1440), 1),
                            now - 86_400 + minute * 60, "V") for minute in range(0, 1430, 2)
                    if not 600 <= minute < 720]
        store.append(readings)
    finally:
        store.close()


def publish_uplinks(broker_port: int) -> None:
    """The lamp heard well by two gateways (SF9, SNR 7.2 dB); the full bin barely (SF10, SNR -14 dB)."""
    now = datetime.now(UTC).isoformat()
    lamp = uplink_event(LAMP_EUI, "0374b208", f_cnt=1, f_port=85, app=LAMP_APP)
    full = uplink_event(BIN_EUI, "0ce4019001ff9c01", f_cnt=7, f_port=2, app=LAMP_APP, rssi=-121, snr=-14.0, sf=10)
    publisher = Publisher(broker_port)
    try:
        for eui, event in ((LAMP_EUI, lamp), (BIN_EUI, full)):
            publisher.send(event_topic(eui, "up", LAMP_APP), json.dumps({**event, "time": now}).encode())
    finally:
        publisher.close()


def set_password(config: Path, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge_agent", "web", "passwd", "--stdin", "--config", str(config)],
                          input=password + "\n", capture_output=True, text=True, timeout=60, check=False)


def cabinet_level(sim_port: int) -> int:
    """circuit1_level as the simulated cabinet holds it, read over Modbus TCP (not through the agent)."""
    client = ModbusTcpClient("127.0.0.1", port=sim_port, timeout=3)
    try:
        client.connect()
        reply = client.read_holding_registers(CIRCUIT1_LEVEL, count=1, device_id=CABINET_UNIT)
        assert not reply.isError(), reply
        return int(reply.registers[0])
    finally:
        client.close()


@dataclass
class WebSite:
    config: Path
    directory: Path
    sim_port: int
    broker_port: int
    agent: AgentProcess
    web: subprocess.Popen[bytes]
    url: str
    shots: Path
