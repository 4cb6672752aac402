"""Writes: checked against the profile (pure), then written and read back to confirm."""

from __future__ import annotations

import math

from edge_agent.errors import WriteRejected
from edge_agent.frozen import frozen
from edge_agent.modbus.adapter import ModbusFailure
from edge_agent.modbus.datatypes import RegisterCodec, encode
from edge_agent.modbus.plan import decode_point
from edge_agent.modbus.poller import DevicePoller
from edge_agent.modbus.profile import PointSpec, Profile
from edge_agent.reading import Value


@frozen(slots=True)
class WriteResult:
    """The outcome of one write. ``reason`` says why it failed, in plain words."""

    device: str
    point: str
    value: Value
    ok: bool
    reason: str = ""
    read_back: Value = None


@frozen(slots=True)
class PreparedWrite:
    spec: PointSpec
    codec: RegisterCodec
    registers: list[int]


def prepare_write(profile: Profile, point: str, value: float | int | bool) -> PreparedWrite:
    """Registers to write for ``point = value``; WriteRejected if not writable, out of range or unencodable."""
    try:
        spec = profile.point(point)
    except KeyError:
        raise WriteRejected(f"no point '{point}' in profile {profile.device.model}") from None
    if not spec.writable:
        raise WriteRejected(f"point '{point}' is read-only")
    codec = profile.codec(spec)
    if codec.type in {"bool", "bit"}:
        if not isinstance(value, bool) and value not in (0, 1):
            raise WriteRejected(f"point '{point}' takes true/false, got {value!r}")
    else:
        if isinstance(value, bool) or not math.isfinite(float(value)):
            raise WriteRejected(f"point '{point}' takes a number, got {value!r}")
        _check_range(spec, float(value))
    if codec.type == "bit":
        raise WriteRejected(f"point '{point}' is one bit of a register; write the whole register instead")
    return PreparedWrite(spec, codec, encode(value, codec))


def _check_range(spec: PointSpec, value: float) -> None:
    if spec.min is not None and value < spec.min:
        raise WriteRejected(f"{value:g} is below the minimum {spec.min:g} of '{spec.name}'")
    if spec.max is not None and value > spec.max:
        raise WriteRejected(f"{value:g} is above the maximum {spec.max:g} of '{spec.name}'")


def confirmed(prepared: PreparedWrite, value: float | int | bool, read_back: Value) -> bool:
    if isinstance(read_back, bool) or prepared.codec.type in {"bool", "bit"}:
        return bool(read_back) == bool(value)
    if not isinstance(read_back, int | float):
        return False
    tolerance = abs(prepared.codec.scale) / 2 if prepared.codec.type != "f32" else abs(float(value)) * 1e-6
    return abs(float(read_back) - float(value)) <= tolerance


async def write_point(poller: DevicePoller, point: str, value: float | int | bool) -> WriteResult:
    """Validate, write, read back. Never raises for device trouble: the result says what went wrong."""
    name = poller.name
    try:
        prepared = prepare_write(poller.profile, point, value)
    except WriteRejected as exc:
        return WriteResult(name, point, value, False, f"rejected: {exc}")
    spec, unit, timeout = prepared.spec, poller.config.unit, poller.timeout
    try:
        async with poller.line.transaction() as link:
            await link.write(unit, spec.table, spec.address, prepared.registers, timeout)
        async with poller.line.transaction() as link:
            raw = await link.read(unit, spec.table, spec.address, prepared.codec.width, timeout)
    except ModbusFailure as exc:
        return WriteResult(name, point, value, False, f"device error ({exc.kind}): {exc}")
    read_back = decode_point(spec, prepared.codec, raw).value
    if not confirmed(prepared, value, read_back):
        return WriteResult(name, point, value, False, f"read back {read_back!r} after writing {value!r}", read_back)
    return WriteResult(name, point, value, True, "", read_back)
