"""What a codec file may use: a bounds-checked byte reader, the decoded result, downlink helpers.

Codec files in ``drivers/lorawan/`` import only this module and the standard library. A codec module defines
``MODEL`` (str), ``UPLINK_FPORTS`` (a set of ints), ``decode(f_port, data, options) -> Decoded``, ``DOMAIN`` (one of
``DOMAINS``; optional for codecs written before it existed) and, when the device takes commands, ``COMMANDS``
(name -> description) and ``encode(command, value) -> Downlink``.

The policy every codec follows (drivers/lorawan/README.md): a channel or record whose length is known but whose
meaning is not is skipped with ``DecodedBuilder.skip`` and the rest kept; a point given twice keeps its last
value, said once in ``Decoded.notes``; a value that cannot be trusted (not finite, flagged by the vendor as an
error, out of the device's range) becomes a point of bad or uncertain quality with ``DecodedBuilder.bad`` or
``point(..., quality=Quality.UNCERTAIN, note=...)``: never NaN, never a lost frame. A record of past readings
(a device's history record, dated by its clock) goes through ``DecodedBuilder.past``, never ``point``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import field

from edge_agent.domains import DOMAINS
from edge_agent.errors import DecodeError, WriteRejected
from edge_agent.frozen import frozen
from edge_agent.reading import Quality

__all__ = [
    "DOMAINS", "CodecOptions", "DecodeError", "Decoded", "DecodedBuilder", "Downlink", "EncodeError",
    "PastReadings", "Point", "Quality", "Reader", "check_fport", "fill_percent", "int_in_range", "on_off",
    "sanitized",
]

PointValue = float | int | bool | str | None



class EncodeError(WriteRejected):
    """A command the codec cannot encode: unknown name, value missing or out of range."""


@frozen(slots=True)
class Point:
    """One decoded value, in our vocabulary and units (percentages 0-100); ``None`` only with BAD quality."""

    name: str
    value: PointValue
    unit: str | None = None
    quality: Quality = Quality.GOOD


@frozen(slots=True)
class PastReadings:
    """A record of readings the device stored and sent later (a history record): when, by the device's clock
    (``ts``, Unix seconds), and what it measured then. Never a current value."""

    ts: int
    points: tuple[Point, ...]

    def as_dict(self) -> dict[str, object]:
        return {"time": self.ts,
                "points": {p.name: {"value": p.value, "unit": p.unit, "quality": p.quality.label} for p in self.points}}


@frozen
class Decoded:
    """What one uplink said: its points, its alarm flags (True = raised) and its battery level.

    ``skipped`` names the channels or records that were passed over (length known, meaning not); ``notes`` says
    why a value was distrusted or replaced. Neither costs the frame its other points. ``history`` holds the past
    readings the uplink carried (history records), each dated by the device, apart from the current points.
    """

    points: tuple[Point, ...]
    alarms: dict[str, bool] = field(default_factory=dict)
    battery_percent: float | None = None
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    history: tuple[PastReadings, ...] = ()

    def value(self, name: str) -> PointValue:
        for point in self.points:
            if point.name == name:
                return point.value
        raise KeyError(name)

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "points": {p.name: {"value": p.value, "unit": p.unit, "quality": p.quality.label} for p in self.points},
            "alarms": dict(self.alarms),
            "battery_percent": self.battery_percent,
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }
        if self.history:
            result["history"] = [past.as_dict() for past in self.history]
        return result


class DecodedBuilder:
    """Collects points and flags while a codec reads, applying the codec policy (see the module docstring)."""

    def __init__(self) -> None:
        self._points: dict[str, Point] = {}
        self._alarms: dict[str, bool] = {}
        self._battery: float | None = None
        self._skipped: list[str] = []
        self._notes: list[str] = []
        self._history: dict[int, dict[str, Point]] = {}

    def point(self, name: str, value: PointValue, unit: str | None = None, *, quality: Quality = Quality.GOOD,
              note: str | None = None) -> None:
        """One value. A float that is not finite becomes a BAD point without a value; a repeat keeps the last."""
        if isinstance(value, float) and not math.isfinite(value):
            self.bad(name, f"{name}: the device sent a value that is not a finite number ({value})", unit)
            return
        if value is None and quality is not Quality.BAD:
            raise ValueError(f"point '{name}' without a value must have BAD quality")
        if name in self._points:
            self._note(f"{name}: given more than once in one payload, the last value kept")
        self._points[name] = Point(name, value, unit, quality)
        if note:
            self._note(note)

    def bad(self, name: str, reason: str, unit: str | None = None) -> None:
        """A point the device reported but whose value cannot be trusted (vendor error flag, not finite...)."""
        if name in self._points:
            self._note(f"{name}: given more than once in one payload, the last value kept")
        self._points[name] = Point(name, None, unit, Quality.BAD)
        self._note(reason)

    def percent(self, name: str, value: float, *, battery: bool = False) -> None:
        """A percentage the device sent: 0-100 is a point in %, anything else a BAD point saying so (never clamped).

        With ``battery``, a trusted value is also the device's battery level.
        """
        if not 0 <= value <= 100:
            side = "above 100 %" if value > 100 else "not within 0-100 %"
            self.bad(name, f"{name}: the device sent {value} %, {side}", "%")
            return
        self.point(name, value, "%")
        if battery:
            self.battery(value)

    def past(self, ts: int, name: str, value: PointValue, unit: str | None = None, *,
             quality: Quality = Quality.GOOD) -> None:
        """One value of a record the device stored earlier, dated ``ts`` (Unix seconds) by its own clock: kept in
        ``Decoded.history``, never taken for a current value. A float that is not finite becomes a BAD value."""
        if isinstance(value, float) and not math.isfinite(value):
            self._note(f"{name} at {ts}: the device stored a value that is not a finite number ({value})")
            value, quality = None, Quality.BAD
        if value is None and quality is not Quality.BAD:
            raise ValueError(f"past value '{name}' without a value must have BAD quality")
        self._history.setdefault(ts, {})[name] = Point(name, value, unit, quality)

    def skip(self, what: str) -> None:
        """A channel or record of known length but unknown meaning, passed over (the rest of the frame is kept)."""
        self._skipped.append(what)

    def stop_at_unknown(self, what: str, reader: Reader) -> None:
        """A channel whose length is unknown: what was read before it is kept, the bytes from it on are skipped.

        A frame that gave nothing before such a channel is not a frame of this device: DecodeError.
        """
        start = reader.pos
        rest = reader.take(reader.remaining)
        if self.empty:
            raise DecodeError(f"{what} at offset {start}: not a frame this codec knows")
        self.skip(f"{what} at offset {start} and the {len(rest)} byte(s) from it (length unknown)")

    @property
    def empty(self) -> bool:
        """Nothing decoded yet: no point, no alarm flag, no battery level, no past reading."""
        return not self._points and not self._alarms and self._battery is None and not self._history

    def note(self, text: str) -> None:
        """Something about this payload a reader of its points should know (said once)."""
        self._note(text)

    def _note(self, text: str) -> None:
        if text not in self._notes:
            self._notes.append(text)

    def alarm(self, name: str, raised: bool) -> None:
        self._alarms[name] = raised

    def battery(self, percent: float) -> None:
        if not math.isfinite(percent):
            self._note(f"battery: the device sent a level that is not a finite number ({percent})")
            return
        self._battery = max(0.0, min(100.0, float(percent)))

    def build(self) -> Decoded:
        history = tuple(PastReadings(ts, tuple(points.values())) for ts, points in self._history.items())
        return Decoded(tuple(self._points.values()), dict(self._alarms), self._battery, tuple(self._skipped),
                       tuple(self._notes), history)


@frozen
class CodecOptions:
    """Per-device settings a codec may need (from the device's site config)."""

    d_empty_mm: float | None = None
    d_full_mm: float | None = None
    sensor_offset_mm: float = 0.0


@frozen(slots=True)
class Downlink:
    """An encoded command: the bytes and the fPort to send them on."""

    f_port: int
    data: bytes


class Reader:
    """Reads a payload front to back; any read past its end raises DecodeError."""

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self.pos

    def take(self, count: int) -> bytes:
        if count < 0 or self.remaining < count:
            raise DecodeError(
                f"payload too short: needs {count} more byte(s) at offset {self.pos}, has {self.remaining}"
            )
        chunk = self._data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def _unpack(self, fmt: str) -> int | float:
        value: int | float = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def u8(self) -> int:
        return int(self._unpack("B"))

    def i8(self) -> int:
        return int(self._unpack("b"))

    def u16(self, *, little: bool = False) -> int:
        return int(self._unpack("<H" if little else ">H"))

    def i16(self, *, little: bool = False) -> int:
        return int(self._unpack("<h" if little else ">h"))

    def u24(self, *, little: bool = False) -> int:
        return int.from_bytes(self.take(3), "little" if little else "big")

    def u32(self, *, little: bool = False) -> int:
        return int(self._unpack("<I" if little else ">I"))

    def i32(self, *, little: bool = False) -> int:
        return int(self._unpack("<i" if little else ">i"))

    def f32(self, *, little: bool = False) -> float:
        return float(self._unpack("<f" if little else ">f"))

    def end(self) -> None:
        """Refuse trailing bytes that the layout does not explain."""
        if self.remaining:
            raise DecodeError(f"{self.remaining} unexpected trailing byte(s) at offset {self.pos}")


def _finite(point: Point) -> bool:
    return not (isinstance(point.value, float) and not math.isfinite(point.value))


def sanitized(decoded: Decoded) -> Decoded:
    """The result with any non-finite float (which a codec built without the builder) turned into a BAD point."""
    if all(_finite(p) for p in decoded.points) and all(_finite(p) for past in decoded.history for p in past.points):
        return decoded
    notes = list(decoded.notes)

    def clean(point: Point) -> Point:
        if _finite(point):
            return point
        notes.append(f"{point.name}: the device sent a value that is not a finite number ({point.value})")
        return Point(point.name, None, point.unit, Quality.BAD)

    points = tuple(clean(p) for p in decoded.points)
    history = tuple(PastReadings(past.ts, tuple(clean(p) for p in past.points)) for past in decoded.history)
    return Decoded(points, dict(decoded.alarms), decoded.battery_percent, decoded.skipped, tuple(notes), history)


def check_fport(f_port: int, allowed: set[int] | frozenset[int]) -> None:
    if f_port not in allowed:
        raise DecodeError(f"fPort {f_port} is not an uplink port of this device (expected {sorted(allowed)})")


def fill_percent(distance_mm: float, options: CodecOptions) -> float | None:
    """Fill level 0-100 from a distance, the bin's empty/full distances and the sensor offset; None if unknown."""
    if options.d_empty_mm is None or options.d_full_mm is None:
        return None
    span = options.d_empty_mm - options.d_full_mm
    if span <= 0:
        return None
    distance = distance_mm - options.sensor_offset_mm
    fill = (options.d_empty_mm - distance) / span
    return round(max(0.0, min(1.0, fill)) * 100.0, 1)


def int_in_range(value: object, low: int, high: int, what: str) -> int:
    """A command's integer argument, checked."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise EncodeError(f"{what} must be an integer from {low} to {high}, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise EncodeError(f"{what} must be from {low} to {high}, got {number}")
    return number


def on_off(value: object) -> bool:
    """A switch command's argument: true/false, 1/0 or 'on'/'off'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("on", "off"):
        return value.lower() == "on"
    raise EncodeError(f"switch takes on/off (or true/false), got {value!r}")
