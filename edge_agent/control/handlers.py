"""The control operations: each takes the running agent's parts and returns a reply (or streams replies)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from edge_agent.control import history, inventory, lighting
from edge_agent.control.context import ControlContext, Reply
from edge_agent.control.facts import disk_json, merge_device, outbox_json
from edge_agent.control.protocol import RequestFailed, ok, reply_record_json
from edge_agent.device_state import device_states
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.lorawan.uplinks import RECENT_UPLINKS
from edge_agent.modbus.config import ModbusDeviceConfig

Send = Callable[[Reply], Awaitable[None]]


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise RequestFailed(f"'{key}' is missing")
    return value


def _device(ctx: ControlContext, name: str) -> Any:
    try:
        return ctx.config.device(name)
    except KeyError:
        known = ", ".join(d.name for d in ctx.config.devices) or "(none)"
        raise RequestFailed(f"no device named '{name}'; devices: {known}") from None


# -- status, inventory, queue ----------------------------------------------------------------------

async def status(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    config = ctx.config
    stats = await ctx.outbox.stats()
    upstream = {**ctx.link.health(), "host": config.upstream.host, "port": config.upstream.port}
    return ok(agent={**ctx.status(), "running": True, "pid": os.getpid(), "started_at": ctx.started_at,
                     "gateway_id": config.gateway_id},
              upstream=upstream, outbox=outbox_json(stats), disk=disk_json(config.store.path),
              devices=device_rows(ctx))


def device_rows(ctx: ControlContext) -> list[Reply]:
    """Each device's row of the ``status`` and ``devices`` replies: its state, last values and alarms."""
    drivers, config = ctx.drivers, ctx.config
    modbus = drivers.modbus.devices_status() if drivers.modbus is not None else []
    lorawan = drivers.lorawan.devices_status() if drivers.lorawan is not None else []
    heard = {device.name: ctx.book.get(device.name).last_seen for device in config.devices}
    states = device_states(config.devices, modbus, lorawan, heard=heard, now=time.time())
    raised = _raised_alarms(ctx)
    rows = []
    for device in config.devices:
        state = states[device.name]
        alarms = [*raised.get(device.name, []), *(f"{name} (device)" for name in state.device_alarms)]
        rows.append({**merge_device(inventory.device_row(device), last_seen=state.last_seen,
                                    values=ctx.book.get(device.name).values, online=state.online,
                                    errors=state.errors, last_error=state.last_error), "alarms": alarms})
    return rows


def _raised_alarms(ctx: ControlContext) -> dict[str, list[str]]:
    """The site's alarm rules raised now, per device: 'rule' or 'rule: point'."""
    out: dict[str, list[str]] = {}
    if ctx.drivers.rules is not None:
        for rule, device, point in ctx.drivers.rules.active_alarms():
            out.setdefault(device, []).append(rule if point is None else f"{rule}: {point}")
    return out


async def devices(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    return ok(devices=device_rows(ctx))


async def points(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    device = args.get("device")
    try:
        rows = inventory.all_points(ctx.config, device if isinstance(device, str) else None)
    except KeyError as exc:
        raise RequestFailed(str(exc.args[0])) from None
    for row in rows:
        row["last"] = ctx.book.get(row["device"]).value(row["point"])
    return ok(points=rows + _heard_points(ctx, device if isinstance(device, str) else None))


def _heard_points(ctx: ControlContext, only: str | None) -> list[Reply]:
    """LoRaWAN points are whatever the codec decoded: listed from the values heard since the agent started."""
    lorawan = [d.name for d in ctx.config.devices if isinstance(d, LorawanDeviceConfig)]
    return [{"device": name, "point": point, "unit": last["unit"], "where": "uplink",
             "type": type(last["value"]).__name__, "writable": False, "description": "", "last": last}
            for name in lorawan if only in (None, name) for point, last in ctx.book.get(name).values.items()]


async def queue(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    return ok(outbox=outbox_json(await ctx.outbox.stats()), upstream=ctx.link.health())


# -- read and write ---------------------------------------------------------------------------------

async def read(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    name = _text(args, "device")
    device = _device(ctx, name)
    modbus = ctx.drivers.modbus
    if isinstance(device, ModbusDeviceConfig) and modbus is not None:
        readings = await modbus.read_device(name)
        return ok(device=name, live=True, readings=[reply_record_json(r) for r in readings])
    seen = ctx.book.get(name)
    values = [{"type": "reading", "ts": v["ts"], "device": name, "point": point, "value": v["value"],
                 "unit": v["unit"], "quality": v["quality"]} for point, v in seen.values.items()]
    why = "a LoRaWAN device speaks only when it wakes up" if isinstance(device, LorawanDeviceConfig) else \
        "this device cannot be polled on demand"
    return ok(device=name, live=False, note=f"last values heard ({why})", readings=values)


async def write(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    name, point = _text(args, "device"), _text(args, "point")
    value = args.get("value")
    device = _device(ctx, name)
    drivers = ctx.drivers
    if isinstance(device, ModbusDeviceConfig) and drivers.modbus is not None:
        if not isinstance(value, bool | int | float):
            raise RequestFailed(f"a Modbus point takes a number or true/false, not {value!r}")
        result = await drivers.modbus.write_point(name, point, value)
        return {"ok": result.ok, "device": name, "point": point, "value": value, "read_back": result.read_back,
                **({} if result.ok else {"error": result.reason})}
    if isinstance(device, LorawanDeviceConfig) and drivers.lorawan is not None:
        ticket = await drivers.lorawan.send_downlink(name, point, value)
        return ok(device=name, point=point, value=value, downlink=ticket.as_dict())
    raise RequestFailed(f"'{name}' cannot be written to (a {device.driver} device)")


async def modbus_read(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    """Raw registers through the agent's own line, so a serial port is never opened twice."""
    name = _text(args, "device")
    if ctx.drivers.modbus is None:
        raise RequestFailed("this site has no Modbus device")
    try:
        poller = ctx.drivers.modbus.poller(name)
    except KeyError as exc:
        raise RequestFailed(str(exc.args[0])) from None
    if "address" not in args:
        return await read(ctx, {"device": name})
    table = args.get("table", "holding")
    address, count = int(args["address"]), int(args.get("count", 1))
    unit = int(args.get("unit", poller.config.unit))
    async with poller.line.transaction() as link:
        values = await link.read(unit, table, address, count, poller.timeout)
    return ok(device=name, unit=unit, table=table, address=address, values=[int(v) for v in values])


async def radio(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    """The last uplinks' RSSI, SNR and spreading factor per gateway, of every LoRaWAN device or of one."""
    lorawan = ctx.drivers.lorawan
    if lorawan is None:
        raise RequestFailed("this site has no LoRaWAN device")
    device, last = args.get("device"), args.get("last", 10)
    if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last <= RECENT_UPLINKS:
        raise RequestFailed(f"'last' is a count of uplinks from 1 to {RECENT_UPLINKS}, not {last!r}")
    if device is not None and not isinstance(_device(ctx, _text(args, "device")), LorawanDeviceConfig):
        raise RequestFailed(f"'{device}' is not a LoRaWAN device")
    return ok(devices=lorawan.signal(device, last))


# -- streams ----------------------------------------------------------------------------------------

async def tail(ctx: ControlContext, args: dict[str, Any], send: Send, kick: Callable[[], None]) -> None:
    device = args.get("device")
    if isinstance(device, str):
        _device(ctx, device)
    subscriber = ctx.hub.subscribe(device if isinstance(device, str) else None, kick)
    try:
        await send(ok(streaming=True, device=device))
        while not subscriber.overflowed:
            await send(ok(record=await subscriber.queue.get()))
    finally:
        ctx.hub.unsubscribe(subscriber)


async def sync(ctx: ControlContext, args: dict[str, Any], send: Send, kick: Callable[[], None]) -> None:
    """Wake the uplink and report the backlog every ``interval`` s until it is empty or ``timeout`` passes."""
    interval = min(max(float(args.get("interval", 0.5)), 0.1), 5.0)
    deadline = time.monotonic() + float(args.get("timeout", 600))
    stats = await ctx.outbox.stats()
    start = stats.backlog
    ctx.link.notify_committed(stats.last_seq)
    while True:
        done = stats.backlog == 0
        end = done or time.monotonic() >= deadline
        await send(ok(start=start, backlog=stats.backlog, connected=ctx.link.connected,
                      acked=ctx.link.counters.records_acked, done=done, end=end))
        if end:
            return
        await asyncio.sleep(interval)
        stats = await ctx.outbox.stats()


Handler = Callable[[ControlContext, dict[str, Any]], Awaitable[Reply]]
Stream = Callable[[ControlContext, dict[str, Any], Send, Callable[[], None]], Awaitable[None]]

HANDLERS: dict[str, Handler] = {"status": status, "devices": devices, "points": points, "queue": queue,
                                "read": read, "write": write, "modbus_read": modbus_read, "radio": radio,
                                "history": history.history, "events": history.events,
                                "lighting": lighting.lighting, "hold": lighting.hold, "resume": lighting.resume}
STREAMS: dict[str, Stream] = {"tail": tail, "sync": sync}
