"""The gateway the command and control-socket targets talk to: the real agent, running, built once per process.

``Agent.run`` starts the real parts (store, uplink, simulated device, rules engine, command service, control
socket) on a site config in a private directory (on /dev/shm when there is one: thousands of remembered answers
would otherwise cost thousands of fsyncs). Its upstream broker is a port nobody listens on: no answer leaves, the
dispatcher's answers are read where it returns them. Its clock counts as not synchronised (``not_before`` is in
2099), so a request's age is not judged: the seed corpus keeps its fixed ``sent_at`` and still reaches every
command. One seam: a config push that begins a trial asks the agent to restart; here the request is noted and the
trial undone, so that the next input finds the same gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from edge_agent.agent import Agent
from edge_agent.commands.context import CommandContext
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.commands.memory import RecentAnswers
from edge_agent.commands.trial import ConfigTrial
from edge_agent.config.load import load_config
from edge_agent.ports import Drivers, Outbox
from edge_agent.store.command_log import CommandLog
from tests.support.ports import free_port

T = TypeVar("T")

SITE = """
gateway_id = "gw-fuzz"

[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[upstream]
host = "127.0.0.1"
port = {port}

[upstream.sync]
reconnect_min = 5.0
reconnect_max = 30.0

[store]
path = "{directory}/store.db"
synchronous = "normal"
commit_interval = 0.01

[clock]
not_before = "2099-01-01"

[control]
socket = "{directory}/control.sock"

[[devices]]
driver = "simulated"
name = "sim-0"
poll_interval = 5
points = [{{ name = "p0", unit = "%", base = 50, amplitude = 5, period = 60 }}]

[lighting]
[[lighting.programs]]
name = "night"
periods = [{{ start = "sunset", end = "sunrise", level = 100 }}]
[[lighting.calendars]]
name = "cal"
rules = [{{ program = "night" }}]
[[lighting.groups]]
name = "rue"
calendar = "cal"
members = [{{ device = "sim-0", point = "p0" }}]
"""


class FuzzGateway:
    """A running agent and a dispatcher of its own (the one the command service uses is not reachable)."""

    def __init__(self) -> None:
        shm = Path("/dev/shm")
        self.directory = Path(tempfile.mkdtemp(prefix="edge-agent-fuzz-", dir=shm if shm.is_dir() else None))
        self.config_path = self.directory / "site.toml"
        self.config_text = SITE.format(port=free_port(), directory=self.directory)
        self.config_path.write_text(self.config_text)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-gateway", daemon=True)
        self._thread.start()
        self.agent = Agent(load_config(self.config_path))
        self.restarts: list[str] = []
        self.agent.request_restart = self.restarts.append  # type: ignore[method-assign]
        self._stop = self.call(_event())
        self._running = asyncio.run_coroutine_threadsafe(self.agent.run(self._stop), self.loop)
        deadline = time.monotonic() + 30
        while self.agent.control is None or self.agent.rules is None:
            if self._running.done() or time.monotonic() > deadline:
                self._running.result(0)
                raise RuntimeError("the agent did not start")
            time.sleep(0.02)
        self.socket = self.agent.config.control.socket
        command_log = CommandLog(self.agent.config.store.path, 1000)
        agent = self.agent
        outbox = Outbox(agent.worker, agent.committer.write_acks)
        context = CommandContext(loaded=agent.loaded, clock=agent.clock, link=agent.uplink, outbox=outbox,
                                 drivers=Drivers(modbus=agent.modbus, lorawan=agent.lorawan, rules=agent.rules),
                                 status=agent.status_fields, restart=self.restarts.append)
        self.dispatcher = Dispatcher(context, RecentAnswers(1000), command_log)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def undo_trial(self) -> bool:
        """A push that began a trial: put the config back as it was; True if there was one."""
        trial = ConfigTrial(self.config_path)
        if trial.marker() is None:
            return False
        trial.finish()
        self.config_path.write_text(self.config_text)
        return True

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        with contextlib.suppress(Exception):
            self._running.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        shutil.rmtree(self.directory, ignore_errors=True)


async def _event() -> asyncio.Event:
    return asyncio.Event()


_shared: FuzzGateway | None = None


def shared() -> FuzzGateway:
    """The gateway of this process, started at the first call."""
    global _shared
    if _shared is None:
        _shared = FuzzGateway()
    return _shared


def close_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None
