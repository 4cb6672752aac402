"""``edge-agent demo``: the bundled demo site, end to end, on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from pathlib import Path

from edge_agent import resources
from edge_agent.agent import Agent
from edge_agent.config.load import LoadedConfig, load_config
from edge_agent.demo.broker import port_open, start_local_broker
from edge_agent.demo.chirpstack_sim import ChirpstackSimulator
from edge_agent.demo.modbus_sim import start_demo_devices, stop_demo_devices
from edge_agent.demo.watch import Watcher
from edge_agent.errors import ConfigError
from edge_agent.logs import setup_logging


def demo_config(path: Path | None, state_dir: Path) -> LoadedConfig:
    """The demo config, with its store and control socket moved under ``state_dir``."""
    loaded = load_config(path or resources.bundled_config("demo"))
    config = loaded.config
    store = config.store.model_copy(update={"path": state_dir / "store.db"})
    control = config.control.model_copy(update={"socket": state_dir / "control.sock"})
    config = config.model_copy(update={"store": store, "control": control})
    return LoadedConfig(path=loaded.path, config=config, sha256=loaded.sha256)


def run_demo(path: Path | None, duration: float | None, state_dir: Path) -> int:
    setup_logging("console", level="WARNING")
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        loaded = demo_config(path, state_dir)
    except ConfigError as exc:
        print("\n".join(exc.problems))
        return 1
    upstream = loaded.config.upstream
    broker: subprocess.Popen[bytes] | None = None
    if not port_open(upstream.host, upstream.port):
        broker = start_local_broker(upstream.port, state_dir) if upstream.host in {"127.0.0.1", "localhost"} else None
        if broker is None:
            print(f"no MQTT broker on {upstream.host}:{upstream.port} and none could be started here:"
                  " readings are kept in the store and will be sent once a broker is reachable"
                  " (install one with: apt-get install mosquitto)")
        else:
            print(f"started a local Mosquitto on {upstream.host}:{upstream.port} for the demo")
    print(f"demo site: gateway {loaded.config.gateway_id} in {loaded.config.site.commune},"
          f" {len(loaded.config.devices)} devices (simulated), store {loaded.config.store.path}")
    chirpstack = ChirpstackSimulator(loaded.config)
    print(f"upstream: {upstream.host}:{upstream.port}, topics {upstream.topic_prefix}/{loaded.config.gateway_id}/#")
    watcher = Watcher(upstream.host, upstream.port, f"{upstream.topic_prefix}/{loaded.config.gateway_id}")
    chirpstack.start()
    try:
        return asyncio.run(_run(loaded, duration))
    finally:
        chirpstack.stop()
        watcher.close()
        if broker is not None:
            broker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                broker.wait(5)


async def _run(loaded: LoadedConfig, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    servers = await start_demo_devices(loaded.config)
    agent = Agent(loaded)
    try:
        code = await agent.run(stop)
    finally:
        await stop_demo_devices(servers)
    stats = agent.stats
    uplink = agent.uplink.counters
    if stats is not None:
        print(f"demo stopped: {stats.last_seq} records committed, {uplink.records_acked} acknowledged by the broker"
              f" this run, {stats.backlog} waiting in the outbox")
    return code
