"""The supervisor: store, then the group commit, then upstream, then drivers and rules; torn down in reverse.

It is the one place where the parts meet; each is handed what it uses when it is built. From a Modbus register to
the hypervisor, in the order of the README's diagram, the constructor arguments read:

- ``ModbusService.load(context, ...)`` polls the registers and hands each ``Reading`` to ``context.sink``, the
  committer;
- ``Committer(worker)`` (``edge_agent/store/group_commit.py``) commits them to the ``Store`` (the SQLite outbox)
  through the store's own thread, then calls its listeners with the new sequence numbers:
  ``UplinkSync.committed`` (which keeps the readings for the live lane, see ``edge_agent/sync/recent.py``), the
  rules, the control socket;
- ``UplinkSync(config, worker, ...)`` reads the outbox through the same worker and publishes it in batches (QoS 1); a
  PUBACK goes back to the committer (``ack_sink``), whose next transaction removes the acknowledged records.

The rules get the drivers' writes (``DriverActions``); the hypervisor's commands, the inventory and the
technician's control socket get narrow views (``edge_agent.ports``), never the supervisor itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Sequence

from edge_agent import __version__
from edge_agent.actuators import DriverActions
from edge_agent.allocator import release_free_pages
from edge_agent.clock import Clock, SystemClock
from edge_agent.collector import settle
from edge_agent.commands import restart as command_restart
from edge_agent.commands.context import CommandContext
from edge_agent.commands.service import CommandService
from edge_agent.commands.trial import Marker
from edge_agent.config.load import LoadedConfig
from edge_agent.contract.inventory import InventoryPublisher
from edge_agent.contract.ngsi_ld import NgsiLdEncoder
from edge_agent.control.book import DeviceBook
from edge_agent.control.server import ControlServer
from edge_agent.errors import EdgeAgentError
from edge_agent.gateway_status import GatewayStatus
from edge_agent.logs import format_in_use, get_logger
from edge_agent.lorawan import lorawan_service
from edge_agent.modbus import modbus_service
from edge_agent.ports import Drivers, Outbox
from edge_agent.reading import Event, Priority, Record
from edge_agent.reports import report_service
from edge_agent.reports.process import ReportProcess
from edge_agent.rules import engine as rules_engine
from edge_agent.services import Service, ServiceContext
from edge_agent.store.group_commit import Committer
from edge_agent.store.outbox import OutboxStats
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.uplink import UplinkSync
from edge_agent.systemd import Notifier

log = get_logger(__name__)


_STATS_EVERY = 5.0
_PRUNE_EVERY = 3600.0
# SIGTERM must stop the agent within 2 s: services get this long together, the outbox this long to go up.
_SERVICES_STOP_BUDGET = 0.8
_UPLINK_GRACE = 0.4


class Agent:
    """One running gateway agent."""

    def __init__(self, loaded: LoadedConfig, clock: Clock | None = None, notifier: Notifier | None = None,
                 trial: Marker | None = None, started: Callable[[], None] | None = None) -> None:
        """``trial``: the pushed config found on trial (or rolled back) at boot, which the commands answer for;
        ``started``: what the process does once the agent has started, before it says READY (the daemon settles
        its garbage collector, ``edge_agent.collector``; a test running agents in its own process does not)."""
        config = loaded.config
        self.loaded = loaded
        self.config = config
        self.clock: Clock = clock or SystemClock(
            not_before=config.clock.not_before, assume_synced=config.clock.source == "assume_synced"
        )
        self.notifier = notifier or Notifier()
        self._started = started
        self.started_at = time.time()
        self.stats: OutboxStats | None = None
        self.services: list[Service] = []
        self.heartbeats = 0
        self._worker: StoreWorker | None = None
        self._committer: Committer | None = None
        self._uplink: UplinkSync | None = None
        self._clock_was_synced: bool | None = None
        self.modbus: modbus_service.ModbusService | None = None
        self.lorawan: lorawan_service.LorawanService | None = None
        self.rules: rules_engine.RulesEngine | None = None
        # The hypervisor contract: a config trial found at boot, and a restart asked by a command.
        self.trial = trial
        self.restart_requested = False
        self.stop_requested = False
        self._stop_event: asyncio.Event | None = None
        self.control: ControlServer | None = None

    @property
    def committer(self) -> Committer:
        assert self._committer is not None
        return self._committer

    @property
    def uplink(self) -> UplinkSync:
        assert self._uplink is not None
        return self._uplink

    @property
    def worker(self) -> StoreWorker:
        assert self._worker is not None
        return self._worker

    async def run(self, stop: asyncio.Event) -> int:
        self._stop_event = stop
        await self._start()
        if self._started is not None:
            self._started()
        release_free_pages()  # what starting held and freed (edge_agent/allocator.py)
        self.notifier.ready(f"running: {len(self.config.devices)} devices")
        log.info("agent_ready", gateway=self.config.gateway_id, version=__version__,
                 devices=len(self.config.devices), store=str(self.config.store.path))
        try:
            await self._heartbeat(stop)
        finally:
            if self.restarting:  # re-executed in place (same PID): systemd sees a reload, not a stop
                self.notifier.send("RELOADING=1", "STATUS=restarting on a pushed or rolled-back config")
            else:
                self.notifier.stopping()
            await self._stop()
        return 0

    # -- start and stop ------------------------------------------------------------------------

    async def _start(self) -> None:
        store = await asyncio.to_thread(Store.open, self.config.store)
        self._worker = StoreWorker(store)
        store_cfg = self.config.store
        self._committer = Committer(self._worker, interval=store_cfg.commit_interval,
                                    max_records=store_cfg.commit_max_records)
        await self._committer.start()
        # What each device last said, for the control socket's status: from the first commit on, so that a device
        # read before the socket is up is not shown as never heard.
        book = DeviceBook([device.name for device in self.config.devices])
        self._committer.add_listener(book.on_committed)
        self.stats = await self._worker.call(store.stats)
        # Acknowledgements ride in the committer's next transaction: fewer SD writes. The hypervisor contract's
        # output encoding (upstream.output) re-encodes the readings batches.
        encoder = NgsiLdEncoder(self.config) if self.config.upstream.output == "ngsi-ld" else None
        self._uplink = UplinkSync(self.config, self._worker, self.clock, self.status_fields,
                                  ack_sink=self._committer.ack, batch_encoder=encoder)
        self._committer.add_listener(self._on_committed)
        now = self.clock.now()
        startup = [Event(kind=e.kind, ts=now, priority=e.priority, message=e.message, data=e.data,
                         clock_synced=self.clock.synced()) for e in store.startup_events]
        startup.append(Event(kind="agent_started", ts=now, priority=Priority.INFO,
                             message=f"edge-agent {__version__} started", data={"version": __version__},
                             clock_synced=self.clock.synced()))
        await self._committer.submit(startup)
        await self._uplink.start()
        if self._uplink.problem is not None:  # kept, and sent once the files are fixed; the rest runs meanwhile
            await self._committer.submit([Event(
                kind="upstream_unusable", ts=self.clock.now(), priority=Priority.ALARM,
                message=f"the upstream link cannot be set up: {self._uplink.problem}",
                clock_synced=self.clock.synced())])
        for service in self._build_services(ServiceContext(config=self.config, sink=self._committer, clock=self.clock)):
            await service.start()
            self.services.append(service)
        # The hypervisor contract (after the drivers, stopped before them): inventory and commands.
        drivers = Drivers(modbus=self.modbus, lorawan=self.lorawan, rules=self.rules)
        outbox = Outbox(self._worker, self._committer.write_acks)
        contract: list[Service] = [InventoryPublisher(self.config, self.clock, self._uplink, drivers)]
        if self.config.upstream.commands.enabled:
            commands = CommandContext(loaded=self.loaded, clock=self.clock, link=self._uplink, outbox=outbox,
                                      drivers=drivers, status=self.status_fields, restart=self.request_restart)
            contract.append(CommandService(commands, self.trial))
        for service in contract:
            await service.start()
            self.services.append(service)
        # The technician's control socket, last: it serves the running services (see edge_agent/control).
        control = ControlServer(self.config, clock=self.clock, outbox=outbox, link=self._uplink, drivers=drivers,
                                status=self.status_fields, started_at=self.started_at, book=book)
        try:
            await control.start()
        except (OSError, KeyError, EdgeAgentError) as exc:  # the agent runs on without it
            log.error("control_socket_failed", socket=str(self.config.control.socket), error=str(exc))
            return
        self._committer.add_listener(control.on_committed)
        self.control = control

    def request_stop(self) -> None:
        """SIGTERM or SIGINT: stop, and stay stopped even when a restart was asked for (systemd is stopping us)."""
        self.stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()

    @property
    def restarting(self) -> bool:
        """Whether the process re-executes itself once stopped: a restart was asked for and no signal came."""
        return self.restart_requested and not self.stop_requested

    def request_restart(self, reason: str) -> None:
        """Stop, then re-execute the process (to try a pushed config, or to roll it back)."""
        log.warning("agent_restart_requested", reason=reason)
        self.restart_requested = True
        if self._stop_event is not None:
            self._stop_event.set()

    def _build_services(self, context: ServiceContext) -> list[Service]:
        """Drivers first (their driver files read), then the rules that drive them; each starts in ``start``."""
        self.modbus = modbus_service.build_service(context)
        self.lorawan = lorawan_service.build_service(context)
        self.rules = rules_engine.build_service(context, DriverActions(self.config.devices, self.modbus, self.lorawan))
        if self.rules is not None:
            rules = self.rules
            self.committer.add_queued_listener(rules.on_queued)
        built: list[Service | None] = [_simulated_service(context), self.modbus, self.lorawan, self.rules,
                                       report_service.build_service(context, ReportProcess(
                                           self.loaded.path, self.loaded.sha256, format_in_use()))]
        return [service for service in built if service is not None]

    async def _stop(self) -> None:
        if self.control is not None:  # the control socket first: no request mid-teardown
            await self.control.stop()
        deadline = time.monotonic() + _SERVICES_STOP_BUDGET
        for service in reversed(self.services):
            try:
                await asyncio.wait_for(service.stop(), max(0.05, deadline - time.monotonic()))
            except Exception as exc:
                log.error("service_stop_failed", service=service.name, error=str(exc) or type(exc).__name__)
        self.uplink.ack_sink = None  # from now on the uplink writes the last acknowledgements itself
        await self.committer.stop()
        self.stats = await self.worker.call(self.worker.store.stats)
        await self.uplink.stop(grace=_UPLINK_GRACE)
        await asyncio.to_thread(self.worker.close)
        log.info("agent_stopped", gateway=self.config.gateway_id)

    # -- the main loop -------------------------------------------------------------------------

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = min(1.0, self.notifier.watchdog_interval or 1.0)
        last_stats = last_prune = 0.0
        while not stop.is_set():
            self.heartbeats += 1
            self.notifier.watchdog()
            mono = self.clock.monotonic()
            if mono - last_stats >= _STATS_EVERY:
                last_stats = mono
                await self._refresh_stats()
                await self._check_clock()
            if mono - last_prune >= _PRUNE_EVERY:
                last_prune = mono
                await self.worker.call(self.worker.store.prune, self.clock.now())
                release_free_pages()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def _refresh_stats(self) -> None:
        previous = self.stats
        self.stats = await self.worker.call(self.worker.store.stats)
        if previous is not None and self.stats.dropped > previous.dropped:
            lost = self.stats.dropped - previous.dropped
            await self.committer.submit([Event(
                kind="store_dropping", ts=self.clock.now(), priority=Priority.ALARM,
                message=f"the store is full: {lost} oldest routine readings were dropped",
                data={"dropped": lost, "dropped_total": self.stats.dropped, "max_bytes": self.stats.max_bytes},
                clock_synced=self.clock.synced(),
            )])

    async def _check_clock(self) -> None:
        synced = self.clock.synced()
        if synced == self._clock_was_synced:
            return
        self._clock_was_synced = synced
        kind, priority = ("clock_synced", Priority.INFO) if synced else ("clock_unsynced", Priority.WARNING)
        message = "wall clock synchronised" if synced else "wall clock not synchronised"
        await self.committer.submit(
            [Event(kind=kind, ts=self.clock.now(), priority=priority, clock_synced=synced, message=message)]
        )

    def _on_committed(self, records: Sequence[Record], seqs: list[int]) -> None:
        if seqs and self._uplink is not None:
            self._uplink.committed(records, seqs)

    def status_fields(self) -> GatewayStatus:
        """The gateway status fields shared by the retained status message and the CLI."""
        stats = self.stats
        fields: GatewayStatus = {
            "version": __version__,
            "config_sha256": self.loaded.sha256,
            "uptime_s": round(time.time() - self.started_at, 1),
            "clock_synced": self.clock.synced(),
        }
        if stats is not None:
            fields.update({"backlog": stats.backlog, "dropped": stats.dropped, "set_aside": stats.set_aside,
                           "last_seq": stats.last_seq, "store_bytes": stats.used_bytes})
        return fields


def _simulated_service(context: ServiceContext) -> Service | None:
    """The simulated devices' service; its module is loaded only by a site that has some (the demo, tests)."""
    if not any(device.driver == "simulated" for device in context.config.devices):
        return None
    from edge_agent import simulated

    return simulated.build_service(context)


def run_forever(loaded: LoadedConfig, marker: Marker | None) -> int:
    """Run until SIGTERM/SIGINT; return the process exit code. ``loaded`` and ``marker`` as
    ``command_restart.boot`` returned them (the daemon boots before it imports this module, see openssl_guard)."""
    agent = Agent(loaded, trial=marker, started=settle)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.request_stop)
        return await agent.run(stop)

    try:
        code = asyncio.run(main())
    except Exception as exc:
        if not command_restart.fail_trial(loaded, exc):
            raise
        if agent.stop_requested:  # rolled back; systemd is stopping us: the next start runs the previous config
            return 1
        command_restart.reexec()
    if agent.restarting:
        command_restart.reexec()
    return code
