"""The Modbus service: builds lines and pollers from the site config, runs them, reads and writes on demand."""

from __future__ import annotations

import asyncio

from edge_agent.cancellation import cancel_until_ended
from edge_agent.catalog import Catalog, catalog_for
from edge_agent.device_state import ModbusDeviceStatus
from edge_agent.errors import ConfigError
from edge_agent.logs import get_logger
from edge_agent.modbus.adapter import ModbusLink, SerialParams
from edge_agent.modbus.backoff import DeviceHealth
from edge_agent.modbus.bus import Line, frame_silence
from edge_agent.modbus.config import ModbusConfig, ModbusDeviceConfig, check_devices
from edge_agent.modbus.plan import ReadBlock, build_plan
from edge_agent.modbus.poller import DevicePoller, submissions_in_flight
from edge_agent.modbus.writes import WriteResult, write_point
from edge_agent.reading import Event, Priority, Reading
from edge_agent.services import ServiceContext

log = get_logger("edge_agent.modbus")


def modbus_devices(context: ServiceContext) -> list[ModbusDeviceConfig]:
    return [device for device in context.config.devices if isinstance(device, ModbusDeviceConfig)]


def site_modbus(context: ServiceContext) -> ModbusConfig:
    return context.config.modbus


def build_service(context: ServiceContext) -> ModbusService | None:
    """The service polling the site's Modbus devices (their profiles read); None when there are none."""
    devices = modbus_devices(context)
    if not devices:
        return None
    return ModbusService.load(context, site_modbus(context), devices)


def site_catalog(context: ServiceContext) -> Catalog:
    return catalog_for(tuple(context.config.drivers.paths))


def build_pollers(context: ServiceContext, modbus: ModbusConfig, devices: list[ModbusDeviceConfig],
                  unusable: dict[str, str] | None = None) -> tuple[dict[str, Line], list[DevicePoller]]:
    """Lines (one per serial port or TCP endpoint) and one poller per device. Raises ConfigError.

    A device whose profile cannot be used (a site profile file with an error, or failing its vectors) gets no
    poller: it is put in ``unusable`` with the problem, and the others are polled.
    """
    problems = check_devices(modbus, devices)
    if problems:
        raise ConfigError(problems)
    catalog = site_catalog(context)
    lines: dict[str, Line] = {}
    depths: dict[str, int] = {}  # per TCP endpoint: the smallest max_in_flight of the devices behind it
    for device in devices:
        if device.host is not None:
            key = f"tcp:{device.host}:{device.port}"
            depths[key] = min(depths.get(key, device.max_in_flight), device.max_in_flight)
    pollers = []
    plans: dict[tuple[str, int], list[ReadBlock]] = {}  # a profile's plan is compiled once, its devices share it
    for device in devices:
        try:
            profile = catalog.profile(device.profile)
        except ConfigError as exc:
            if unusable is None:
                raise
            unusable[device.name] = "; ".join(exc.problems)
            log.error("modbus_device_unusable", device=device.name, profile=device.profile, problem=exc.problems)
            continue
        key, line, timeout = _line_for(device, modbus, lines, depths)
        lines[key] = line
        backoff = modbus.backoff
        plan_key = (device.profile, _gap(device, modbus))
        if plan_key not in plans:
            plans[plan_key] = build_plan(profile, plan_key[1])
        pollers.append(DevicePoller(
            config=device, profile=profile, plan=list(plans[plan_key]), line=line,
            timeout=timeout, clock=context.clock,
            health=DeviceHealth(backoff.initial, backoff.maximum, backoff.offline_after),
            max_in_flight=submissions_in_flight(context.config.store.commit_interval, device.poll_interval),
        ))
    return lines, pollers


def _gap(device: ModbusDeviceConfig, modbus: ModbusConfig) -> int:
    return device.max_gap if device.max_gap is not None else modbus.max_gap


def _line_for(device: ModbusDeviceConfig, modbus: ModbusConfig, lines: dict[str, Line],
              depths: dict[str, int]) -> tuple[str, Line, float]:
    if device.bus is not None:
        bus = modbus.bus(device.bus)
        timeout = (device.timeout or bus.timeout) + bus.adapter_latency
        key = f"rtu:{bus.name}"
        if key not in lines:
            params = SerialParams(bus.port, bus.baudrate, bus.parity, bus.stopbits, bus.bytesize)
            lines[key] = Line(ModbusLink(serial=params), frame_silence(bus.baudrate))
        return key, lines[key], timeout
    key = f"tcp:{device.host}:{device.port}"
    if key not in lines:
        lines[key] = Line(ModbusLink(host=device.host, port=device.port), depth=depths.get(key, 1))
    return key, lines[key], device.timeout or modbus.tcp_timeout


class ModbusService:
    """Polls every Modbus device in its own task; a slow or dead device only holds its own line.

    Built by ``load`` (which reads the devices' profiles); the constructor takes what was loaded and does no I/O.
    """

    name = "modbus"

    def __init__(self, context: ServiceContext, devices: list[ModbusDeviceConfig], lines: dict[str, Line],
                 pollers: list[DevicePoller], unusable: dict[str, str]) -> None:
        """``unusable``: the devices left without a poller, with why their profile cannot be used."""
        self._context = context
        self.unusable = unusable
        self._lines = lines
        self._pollers = {poller.name: poller for poller in pollers}
        self._configs = {device.name: device for device in devices}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def load(cls, context: ServiceContext, modbus: ModbusConfig, devices: list[ModbusDeviceConfig]) -> ModbusService:
        """Read the devices' profiles and plan their polls. Raises ConfigError (a device whose profile cannot be
        used is not an error: it is kept in ``unusable`` and the others are polled)."""
        unusable: dict[str, str] = {}
        lines, pollers = build_pollers(context, modbus, devices, unusable)
        return cls(context, devices, lines, pollers, unusable)

    async def start(self) -> None:
        clock = self._context.clock
        if self.unusable:
            await self._context.sink.submit([Event(
                "device_unusable", clock.now(), Priority.ALARM, name,
                f"{name} is not polled: its profile '{self._configs[name].profile}' cannot be used: {problem}",
                {"profile": self._configs[name].profile, "problem": problem}, clock.synced())
                for name, problem in self.unusable.items()])
        for poller in self._pollers.values():
            task = asyncio.create_task(poller.run(self._context.sink), name=f"modbus:{poller.name}")
            self._tasks.append(task)
        log.info("modbus_started", devices=len(self._pollers), lines=len(self._lines))

    async def stop(self) -> None:
        for poller in self._pollers.values():
            poller.stopping = True
        await cancel_until_ended(self._tasks)
        self._tasks.clear()
        for line in self._lines.values():
            line.close()

    def health(self) -> dict[str, object]:
        online = sum(1 for poller in self._pollers.values() if poller.health.online)
        crashed = [task.get_name() for task in self._tasks if task.done()]
        return {"devices": len(self._pollers), "online": online, "crashed_tasks": crashed,
                "unusable": dict(self.unusable), "ok": not crashed}

    def requests_issued(self) -> int:
        """Modbus transactions made on every line since start (reads and writes)."""
        return sum(line.transactions for line in self._lines.values())

    def poller(self, name: str) -> DevicePoller:
        if name in self.unusable:
            raise KeyError(f"Modbus device '{name}' is not polled: its profile cannot be used: {self.unusable[name]}")
        try:
            return self._pollers[name]
        except KeyError:
            raise KeyError(f"no Modbus device named '{name}'") from None

    async def read_device(self, name: str) -> list[Reading]:
        """Poll one device now (outside its schedule); raises ModbusFailure if it does not answer."""
        poller = self.poller(name)
        readings, failure = await poller.read()
        if failure is not None:
            raise failure
        return readings

    async def write_point(self, device: str, point: str, value: float | int | bool) -> WriteResult:
        return await write_point(self.poller(device), point, value)

    def devices_status(self, *, details: bool = True) -> list[ModbusDeviceStatus]:
        """Every device's status; without ``details``, no last values nor frames (what the inventory needs, once a
        second, at a cost that does not grow with the points)."""
        return [device_status(poller, details=details) for poller in self._pollers.values()] + [
            unusable_status(self._configs[name], problem) for name, problem in self.unusable.items()]


def unusable_status(device: ModbusDeviceConfig, problem: str) -> ModbusDeviceStatus:
    """A device the service does not poll because its profile cannot be used."""
    line = f"rtu:{device.bus}" if device.bus is not None else f"tcp:{device.host}:{device.port}"
    return {"name": device.name, "profile": device.profile, "line": line, "unit": device.unit, "online": False,
            "last_seen": None, "polls": 0, "errors": {"profile": 1}, "last_error": f"profile unusable: {problem}",
            "submit_failures": 0, "requests_per_poll": 0, "values": {}, "recent_frames": [], "usable": False,
            "problem": problem}


def device_status(poller: DevicePoller, *, details: bool = True) -> ModbusDeviceStatus:
    health = poller.health
    return {
        "name": poller.name,
        "profile": poller.config.profile,
        "line": poller.line.link.label,
        "unit": poller.config.unit,
        "online": health.online,
        "last_seen": health.last_seen,
        "polls": health.polls,
        "errors": dict(health.errors),
        "last_error": health.last_error,
        "submit_failures": poller.submit_failures,
        "requests_per_poll": len(poller.plan),
        "values": {name: {"value": r.value, "unit": r.unit, "quality": r.quality.label, "ts": r.ts}
                   for name, r in poller.last_values.items()} if details else {},
        "recent_frames": [f"{'>' if f.sent else '<'} {f.hex}" for f in poller.line.link.recent_frames(
            poller.config.unit, 6)] if details else [],
    }
