"""Points from the ``object`` ChirpStack's device-profile codec produced (``codec = "chirpstack"``). Pure.

The site config maps fields of that object (dotted paths, list items by index) to points, alarm flags or bit
flags, with unit, scale, offset and valid range. A field that is absent (or null) is counted and said in the
result's notes, never fatal; a value that cannot be used (not a number where one is scaled, not finite, out of
range) gives a BAD or UNCERTAIN point, as with every codec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edge_agent.frozen import frozen
from edge_agent.lorawan.codec_api import Decoded, DecodedBuilder, DecodeError, Quality
from edge_agent.lorawan.config import ObjectField

_TRUE = {"true", "on", "yes", "alarm", "1"}
_FALSE = {"false", "off", "no", "0", "normal", "ok", ""}
_MISSING = object()


@frozen
class ObjectResult:
    decoded: Decoded
    missing: int  # mapped fields the object did not have


def lookup(obj: object, path: str) -> object:
    """The value at a dotted path (``a.b.0.c``), or ``_MISSING``."""
    node = obj
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return _MISSING if node is None else node


def decode_object(obj: Mapping[str, object] | None, fields: Sequence[ObjectField]) -> ObjectResult:
    """The points and flags the mapping takes from one event's object."""
    if obj is None:
        raise DecodeError("the event has no decoded object: ChirpStack ran no codec for this uplink (set one in the"
                          " device profile, or give the device a payload codec)")
    out = DecodedBuilder()
    missing = 0
    for field in fields:
        value = lookup(obj, field.path)
        if value is _MISSING:
            missing += 1
            out.note(f"object field '{field.path}' is missing")
            continue
        if field.point is not None:
            _point(field, field.point, value, out)
        elif field.alarm is not None:
            _alarm(field, field.alarm, value, out)
        else:
            _flags(field, value, out)
    return ObjectResult(out.build(), missing)


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _point(field: ObjectField, name: str, value: object, out: DecodedBuilder) -> None:
    if isinstance(value, bool):
        out.point(name, value)
        return
    if isinstance(value, str) and field.scale == 1.0 and field.offset == 0.0 and not field.battery:
        out.point(name, value, field.unit)
        return
    number = _number(value)
    if number is None:
        out.bad(name, f"{name}: object field '{field.path}' holds {type(value).__name__} {str(value)[:40]!r},"
                      " not a number", field.unit)
        return
    scaled: float | int = number * field.scale + field.offset
    if isinstance(scaled, float) and scaled.is_integer() and field.scale == 1.0 and field.offset == 0.0:
        scaled = int(scaled)  # ChirpStack's Struct makes every number a float: a count stays a count
    low, high = field.valid_min, field.valid_max
    if (low is not None and scaled < low) or (high is not None and scaled > high):
        out.point(name, scaled, field.unit, quality=Quality.UNCERTAIN,
                  note=f"{name}: {scaled} is outside the valid range [{low}, {high}]")
    else:
        out.point(name, scaled, field.unit)
    if field.battery:
        out.battery(float(scaled))


def _alarm(field: ObjectField, name: str, value: object, out: DecodedBuilder) -> None:
    if field.raised_when is not None:
        out.alarm(name, any(_same(value, wanted) for wanted in field.raised_when))
        return
    if isinstance(value, bool):
        out.alarm(name, value)
    elif _number(value) is not None:
        out.alarm(name, value != 0)
    elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        out.alarm(name, value.strip().lower() in _TRUE)
    else:
        out.note(f"alarm {name}: object field '{field.path}' holds {str(value)[:40]!r}; give raised_when")


def _same(value: object, wanted: object) -> bool:
    """True only matches true (not 1); 1 matches 1.0, as ChirpStack sends every number as a float."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return value == wanted


def _flags(field: ObjectField, value: object, out: DecodedBuilder) -> None:
    number = _number(value)
    if number is None or not float(number).is_integer():
        out.note(f"flags of object field '{field.path}': {str(value)[:40]!r} is not an integer")
        return
    for bit, name in (field.flags or {}).items():
        out.alarm(name, bool(int(number) >> bit & 1))
