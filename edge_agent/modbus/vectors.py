"""A Modbus profile's vectors (``<profile>.vectors.yaml``) run against it: one line per failure.

The format (drivers/modbus/README.md): ``profile``; ``vectors``, each ``name``, ``registers`` (table -> {start
address: [register contents...]}), ``expect`` (point -> value; null for a BAD value) and ``quality`` (point ->
good/uncertain/bad, default good). Writable points must encode back to the registers they came from.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from edge_agent.errors import WriteRejected
from edge_agent.modbus.datatypes import encode
from edge_agent.modbus.plan import decode_point
from edge_agent.modbus.profile import Profile
from edge_agent.reading import Quality


def check_profile_vectors(profile: Profile, path: Path) -> list[str]:
    """Every vector of the file against the profile."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{path}: (file): no vectors file; write {path.name} beside the profile (register contents and the"
                " values they give, with at least one uncertain or bad value)"]
    except (OSError, yaml.YAMLError) as exc:
        return [f"{path}: (file): cannot be read: {str(exc).splitlines()[0]}"]
    vectors = data.get("vectors") if isinstance(data, dict) else None
    if not isinstance(vectors, list) or not vectors:
        return [f"{path}: vectors: is missing or empty; list register contents and the values they give"]
    failures = []
    for index, vector in enumerate(vectors):
        label = f"{path}: vectors[{index}]" + (f" ({vector.get('name')})" if isinstance(vector, dict) else "")
        failures += [f"{label}: {problem}" for problem in _vector_problems(profile, vector)]
    if not any(isinstance(v, dict) and v.get("quality") for v in vectors):
        failures.append(f"{path}: vectors: no vector expects an uncertain or bad value; add one (a sentinel, NaN, or"
                        " a value outside valid_min/valid_max)")
    return failures


def _image(registers: Any) -> dict[str, dict[int, int]]:
    image: dict[str, dict[int, int]] = {}
    for table, chunks in (registers or {}).items():
        cells = image.setdefault(str(table), {})
        for start, words in chunks.items():
            for index, word in enumerate(words):
                cells[int(start) + index] = int(word)
    return image


def _vector_problems(profile: Profile, vector: Any) -> list[str]:
    if not isinstance(vector, dict) or not vector.get("expect"):
        return ["needs registers and expect"]
    try:
        image = _image(vector.get("registers"))
    except (AttributeError, TypeError, ValueError) as exc:
        return [f"registers: {exc}"]
    problems = []
    qualities = vector.get("quality") or {}
    for name, expected in vector["expect"].items():
        try:
            spec = profile.point(str(name))
        except KeyError:
            problems.append(f"expect: the profile has no point '{name}'")
            continue
        codec = profile.codec(spec)
        cells = image.get(spec.table, {})
        addresses = range(spec.address, spec.address + codec.width)
        missing = [a for a in addresses if a not in cells]
        if missing:
            problems.append(f"{name}: the vector gives no contents for {spec.table} addresses {missing}")
            continue
        words = [cells[a] for a in addresses]
        decoded = decode_point(spec, codec, [bool(w) for w in words] if codec.type == "bool" else words)
        want_quality = str(qualities.get(name, "good")).upper()
        if want_quality not in Quality.__members__ or decoded.quality is not Quality[want_quality]:
            problems.append(f"{name}: quality {decoded.quality.label}, expected {qualities.get(name, 'good')}")
        if not _same(decoded.value, expected):
            problems.append(f"{name}: decoded {decoded.value!r}, expected {expected!r}")
        elif spec.writable and expected is not None:
            try:
                if encode(expected, codec) != words:
                    problems.append(f"{name}: {expected!r} does not encode back to {words}")
            except WriteRejected as exc:
                problems.append(f"{name}: {expected!r} cannot be written back: {exc}")
    return problems


def _same(got: object, want: object) -> bool:
    if want is None or got is None:
        return got is want
    if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return math.isclose(float(got), want, rel_tol=1e-6)
    return got == want and type(got) is type(want)
