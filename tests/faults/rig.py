"""The fault rig: real devices (Modbus TCP simulators, a ChirpStack stand-in), real brokers, the real agent.

- ``TimedCapture``: the hypervisor's side, a persistent QoS 1 subscriber that notes when each message arrived.
- ``ModbusFleet``: ``python -m edge_agent.modbus.simulator`` as its own process (real pymodbus TCP servers).
- ``ChirpstackFeeder``: publishes ChirpStack v4 JSON uplinks (the codecs' real frames) on ChirpStack's broker,
  QoS 1, and remembers every frame counter it produced per device.
- ``audit``: compares what the devices produced / the store committed with what the broker delivered.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.procs import free_block
from edge_agent.demo.chirpstack_sim import sample_frames
from tests.lorawan.support import event_topic, uplink_event
from tests.support.agent_proc import AgentProcess, store_rows
from tests.support.broker import Broker
from tests.support.mqtt import Capture
from tests.support.ports import wait_port
from tests.support.site import simulated_devices, write_site

MODBUS_PROFILES = ["eastron_sdm120", "streetlight_cabinet_4c", "traffic_counter"]
LORAWAN_DEVICES = [  # name, dev_eui, codec
    ("lora-counter-1", "0004a30b00ff1e01", "parametric_pcr2"),
    ("lora-counter-2", "0004a30b00ff1e02", "parametric_pcr2"),
    ("lora-lamp-1", "70b3d5e75e00c0a7", "nas_ul20xx"),
    ("lora-lamp-2", "70b3d5e75e00c0a8", "nas_ul20xx"),
]


class TimedCapture(Capture):
    """A Capture that also notes the arrival time (monotonic) of each message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.times: list[float] = []
        super().__init__(*args, **kwargs)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.times.append(time.monotonic())
        super()._on_message(client, userdata, msg)

    def records(self) -> list[tuple[float, dict[str, Any]]]:
        """Every record delivered on the readings, events and reports topics, with its arrival time, duplicates kept."""
        with self._lock:
            pairs = list(zip(self.times, self.messages, strict=True))
        out: list[tuple[float, dict[str, Any]]] = []
        for at, message in pairs:
            if message.topic.endswith(("/readings", "/events", "/reports")):
                out.extend((at, record) for record in json.loads(message.payload)["records"])
        return out


class ModbusFleet:
    """Simulated Modbus TCP devices (unit 1, one per port) in a process of their own."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.base = free_block(count)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.modbus.simulator", "--base-port", str(self.base),
             "--count", str(count), "--profiles", ",".join(MODBUS_PROFILES)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for port in self.ports:
            wait_port(port, timeout=20)

    @property
    def ports(self) -> list[int]:
        return [self.base + index for index in range(self.count)]

    def devices_toml(self, poll: float) -> str:
        blocks = []
        for index, port in enumerate(self.ports):
            profile = MODBUS_PROFILES[index % len(MODBUS_PROFILES)]
            blocks.append(f'[[devices]]\ndriver = "modbus"\nname = "mb-{index}"\nprofile = "{profile}"\n'
                          f'host = "127.0.0.1"\nport = {port}\nunit = 1\npoll_interval = {poll}\n')
        return "\n".join(blocks)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)




def lorawan_toml(port: int, client_id: str = "agent-lorawan-faults") -> tuple[str, str]:
    """The [chirpstack] section, and the LoRaWAN devices."""
    section = f'[chirpstack]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "{client_id}"\n'
    devices = "\n".join(
        f'[[devices]]\ndriver = "lorawan"\nname = "{name}"\ndev_eui = "{eui}"\ncodec = "{codec}"\n'
        f"uplink_interval = 60\n"
        for name, eui, codec in LORAWAN_DEVICES
    )
    return section, devices


def prepare_lorawan_session(port: int, client_id: str = "agent-lorawan-faults") -> None:
    """Make the agent's persistent session on ChirpStack's broker exist before the first uplink, as it does on a
    gateway that has run once: the broker then queues QoS 1 uplinks for the agent whenever it is down."""
    from edge_agent.lorawan.adapter import subscriptions
    from edge_agent.lorawan.config import ChirpstackConfig

    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_subscribe = lambda *args: done.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe([(topic, 1) for topic in subscriptions(ChirpstackConfig(port=port, client_id=client_id))])
    if not done.wait(10):
        raise TimeoutError("could not subscribe on ChirpStack's broker")
    client.disconnect()
    client.loop_stop()


@dataclass
class ChirpstackFeeder:
    """ChirpStack's side: uplinks of every LoRaWAN device in turn, ``rate`` messages a second in all."""

    port: int
    rate: float = 20.0
    produced: dict[str, set[int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ChirpstackFeeder:
        self._thread = threading.Thread(target=self._run, name="chirpstack-feeder", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="chirpstack-stand-in")
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        frames = {codec: sample_frames(codec) for _, _, codec in LORAWAN_DEVICES}
        rng = random.Random(7)
        f_cnt = 0
        try:
            while not self._stop.is_set():
                f_cnt += 1
                for name, eui, codec in LORAWAN_DEVICES:
                    f_port, frame = rng.choice(frames[codec])
                    event = uplink_event(eui, frame.hex(), f_cnt=f_cnt, f_port=f_port)
                    client.publish(event_topic(eui, "up"), json.dumps(event), qos=1).wait_for_publish(10)
                    self.produced.setdefault(name, set()).add(f_cnt)
                self._stop.wait(len(LORAWAN_DEVICES) / self.rate)
        finally:
            client.loop_stop()
            client.disconnect()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    @property
    def count(self) -> int:
        return sum(len(counts) for counts in self.produced.values())


def crash_site(directory: Path, *, upstream: int, chirpstack: int, fleet: ModbusFleet, modbus_poll: float = 0.2,
               sync: str = "", store: str = "") -> Path:
    section, lora = lorawan_toml(chirpstack)
    devices = "\n".join([simulated_devices(2, poll=0.05, points=3), fleet.devices_toml(modbus_poll), lora])
    modbus = '[modbus]\ntcp_timeout = 0.5\nbackoff = { initial = 0.2, maximum = 1.0, offline_after = 2 }\n'
    return write_site(directory, broker_port=upstream, devices=devices, extra=section + "\n" + modbus,
                      sync=sync, store=store)


@dataclass
class Rig:
    """A whole gateway under test: the hypervisor's broker and its capture, ChirpStack's broker and feeder, a fleet
    of real Modbus servers, and the agent (``agent`` is replaced when a test kills and restarts it)."""

    upstream: Broker
    chirpstack: Broker
    fleet: ModbusFleet
    capture: TimedCapture
    feeder: ChirpstackFeeder
    config: Path
    agent: AgentProcess

    @property
    def db(self) -> Path:
        return store_path(self.config)


def store_path(config: Path) -> Path:
    """Where the site config puts the store."""
    return Path(tomllib.loads(config.read_text())["store"]["path"])


@contextlib.contextmanager
def running_rig(directory: Path, *, modbus_devices: int, feeder_rate: float = 20.0, modbus_poll: float = 0.2,
                env: dict[str, str] | None = None, site: Path | None = None, state: Path | None = None,
                store: str = "", extra: str = "") -> Iterator[Rig]:
    """Start everything, agent last; tear everything down in reverse, whatever the test did to it. The config goes
    in ``site`` (``directory`` when not given; the agent's log stays in ``directory``), the store in ``state``
    (beside the config when not given); ``store`` adds to the [store] section, ``extra`` to the config's end."""
    (directory / "up").mkdir()
    (directory / "cs").mkdir()
    with contextlib.ExitStack() as stack:
        upstream = Broker(directory / "up").start()
        stack.callback(upstream.stop)
        chirpstack = Broker(directory / "cs").start()
        stack.callback(chirpstack.stop)
        fleet = ModbusFleet(modbus_devices)
        stack.callback(fleet.close)
        capture = TimedCapture(upstream.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
        stack.callback(capture.close)
        prepare_lorawan_session(chirpstack.port)
        feeder = ChirpstackFeeder(chirpstack.port, rate=feeder_rate).start()
        stack.callback(feeder.stop)
        config = crash_site(site or directory, upstream=upstream.port, chirpstack=chirpstack.port, fleet=fleet,
                            modbus_poll=modbus_poll, store=store)
        text = config.read_text() + (f"\n{extra}" if extra else "")
        if state is not None:
            text = text.replace(str(config.parent / "store.db"), str(state / "store.db"))
        config.write_text(text)
        agent = AgentProcess(config, env=env, log=directory / "agent.log").start()
        rig = Rig(upstream, chirpstack, fleet, capture, feeder, config, agent)
        stack.callback(lambda: rig.agent.kill() if rig.agent.proc is not None else None)
        yield rig


# -- the audit ---------------------------------------------------------------------------------


@dataclass
class Audit:
    """What the hypervisor got against what was committed and produced."""

    committed: int
    delivered: int
    lost: list[int]
    gaps: list[int]
    duplicated: int
    unexplained_duplicates: list[int]
    lorawan_produced: int
    lorawan_lost: dict[str, list[int]]
    out_of_order: list[str]

    def failures(self) -> list[str]:
        problems = []
        if self.lost:
            problems.append(f"{len(self.lost)} committed records never reached the broker, e.g. {self.lost[:10]}")
        if self.gaps:
            problems.append(f"sequence gaps at {self.gaps[:10]}")
        if self.unexplained_duplicates:
            problems.append(f"{len(self.unexplained_duplicates)} duplicates with no fault between the copies, "
                            f"e.g. seq {self.unexplained_duplicates[:10]}")
        for device, missing in self.lorawan_lost.items():
            if missing:
                problems.append(f"{device}: {len(missing)} uplinks ChirpStack delivered never reached the broker"
                                f" (fCnt {missing[:10]})")
        return problems


UNSENT = "seq IN (SELECT seq FROM outbox)"  # records the broker has not acknowledged (the store's ``outbox`` view)


def store_seqs(db: Path, where: str = "1") -> set[int]:
    return {int(row[0]) for row in store_rows(db, f"SELECT seq FROM records WHERE {where}")}  # type: ignore[call-overload]


def audit(capture: TimedCapture, db: Path, *, fault_times: list[float],
          produced: dict[str, set[int]] | None = None) -> Audit:
    """No loss (committed ⊆ delivered), no gap (1..max all used), duplicates only across a fault."""
    records = capture.records()
    committed = store_seqs(db)
    arrivals: dict[int, list[float]] = {}
    for at, record in records:
        arrivals.setdefault(int(record["seq"]), []).append(at)
    delivered = set(arrivals)
    top = max(committed | delivered) if committed | delivered else 0
    unexplained = [seq for seq, times in sorted(arrivals.items())
                   if len(times) > 1 and not _fault_between(times, fault_times)]
    lost_fcnt: dict[str, list[int]] = {}
    if produced is not None:
        heard: dict[str, set[int]] = {}
        for _, record in records:
            if record.get("point") == "lorawan.f_cnt":
                heard.setdefault(str(record["device"]), set()).add(int(record["value"]))
        lost_fcnt = {device: sorted(counts - heard.get(device, set())) for device, counts in produced.items()}
    return Audit(
        committed=len(committed), delivered=len(records), lost=sorted(committed - delivered),
        gaps=sorted(set(range(1, top + 1)) - (committed | delivered)),
        duplicated=sum(len(times) - 1 for times in arrivals.values()), unexplained_duplicates=unexplained,
        lorawan_produced=sum(len(c) for c in (produced or {}).values()), lorawan_lost=lost_fcnt,
        out_of_order=_out_of_order(records),
    )


def _fault_between(times: list[float], faults: list[float]) -> bool:
    """Every later copy must come after a fault that itself came after the first copy (give or take 1.5 s: the
    capture notes arrival on its own thread, and a stalled broker may have sent a copy as the fault began)."""
    first = times[0]
    return all(any(first - 1.5 <= fault <= later for fault in faults) for later in times[1:])


def _out_of_order(records: list[tuple[float, dict[str, Any]]]) -> list[str]:
    """Devices whose readings, first copies only, arrived out of sequence order within one connection."""
    seen: set[int] = set()
    last: dict[str, int] = {}
    bad: list[str] = []
    for _, record in records:
        seq = int(record["seq"])
        if "point" not in record or seq in seen:
            continue
        seen.add(seq)
        device = str(record["device"])
        if seq < last.get(device, 0) and device not in bad:
            bad.append(device)
        last[device] = max(seq, last.get(device, 0))
    return bad

