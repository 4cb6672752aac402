"""A codec's vectors (``<name>.vectors.yaml``) run against it: one line per failure, nothing when all pass.

The format (drivers/lorawan/README.md): ``codec``; ``uplinks``, each ``f_port``, ``hex``, optional ``options``
(bin geometry), and either ``error`` (a regular expression the decode error must match) or the expected
``points`` (name -> value; null for a BAD point), ``quality`` (name -> good/uncertain/bad; unlisted points must be
good), ``alarms`` (name -> raised), ``battery_percent``, ``skipped`` (how many channels or records were passed over,
0 when absent; or a list with one substring per entry), ``notes`` (when given: one substring per note, no more,
no fewer) and ``history`` (the past readings, each ``time``, ``points``, ``quality``; none when absent);
``downlinks``, each ``command``, ``value`` and ``f_port`` + ``hex`` or
``error``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from edge_agent.lorawan.codec_api import CodecOptions, Decoded, DecodeError, EncodeError
from edge_agent.lorawan.codecs import PayloadCodec


def read_vectors(path: Path) -> dict[str, Any]:
    """The vectors file as data; ValueError with the reason when it cannot be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: (file): no vectors file; write {path.name} beside the codec (at least one"
                         " decoding vector, a wrong-fPort and a truncated-payload vector)") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: (file): cannot be read: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("uplinks"), list) or not data["uplinks"]:
        raise ValueError(f"{path}: uplinks: is missing or empty; list the vendor's example uplinks there")
    return data


def check_vectors(codec: PayloadCodec, path: Path) -> list[str]:
    """Every vector of the file against the codec."""
    try:
        data = read_vectors(path)
    except ValueError as exc:
        return [str(exc)]
    failures: list[str] = []
    if data.get("codec") not in (None, codec.name):
        failures.append(f"{path}: codec: says '{data.get('codec')}', the file is for '{codec.name}'")
    for index, case in enumerate(data["uplinks"]):
        label = f"{path}: uplinks[{index}]" + (f" ({case['description']})" if isinstance(case, dict)
                                               and case.get("description") else "")
        failures += [f"{label}: {problem}" for problem in uplink_problems(codec, case)]
    for index, case in enumerate(data.get("downlinks") or []):
        failures += [f"{path}: downlinks[{index}]: {problem}" for problem in downlink_problems(codec, case)]
    return failures


def uplink_problems(codec: PayloadCodec, case: Any) -> list[str]:
    if not isinstance(case, dict) or "hex" not in case or "f_port" not in case:
        return ["needs f_port and hex"]
    try:
        data = bytes.fromhex(str(case["hex"]).replace(" ", ""))
        options = CodecOptions(**(case.get("options") or {}))
    except (ValueError, TypeError) as exc:
        return [f"bad hex or options: {exc}"]
    try:
        decoded = codec.decode(int(case["f_port"]), data, options)
    except DecodeError as exc:
        if "error" in case and re.search(str(case["error"]), str(exc)):
            return []
        expected = f"an error matching '{case['error']}'" if "error" in case else "a decoded result"
        return [f"expected {expected}, got the decode error: {exc}"]
    if "error" in case:
        return [f"expected an error matching '{case['error']}', got {decoded.as_dict()['points']}"]
    return result_problems(decoded, case)


def result_problems(decoded: Decoded, case: dict[str, Any]) -> list[str]:
    problems = []
    got = {p.name: p.value for p in decoded.points}
    want = case.get("points") or {}
    for name in sorted(set(got) | set(want)):
        if name not in want:
            problems.append(f"point {name} = {got[name]!r} is not expected")
        elif name not in got:
            problems.append(f"point {name} is missing (expected {want[name]!r})")
        elif not same(got[name], want[name]):
            problems.append(f"point {name} = {got[name]!r}, expected {want[name]!r}")
    qualities = {p.name: p.quality.label for p in decoded.points}
    for name, quality in qualities.items():
        expected = (case.get("quality") or {}).get(name, "good")
        if quality != expected:
            problems.append(f"point {name} has quality {quality}, expected {expected}")
    for name, raised in (case.get("alarms") or {}).items():
        if decoded.alarms.get(name) is not raised:
            problems.append(f"alarm {name} = {decoded.alarms.get(name)!r}, expected {raised!r}")
    if decoded.battery_percent != case.get("battery_percent"):
        problems.append(f"battery_percent = {decoded.battery_percent!r}, expected {case.get('battery_percent')!r}")
    skipped = case.get("skipped", 0)
    if isinstance(skipped, int):
        if len(decoded.skipped) != skipped:
            problems.append(f"skipped: {len(decoded.skipped)} entries {list(decoded.skipped)}, expected {skipped}")
    else:
        problems += _listed("skipped", list(decoded.skipped), [str(item) for item in skipped])
    if "notes" in case:
        problems += _listed("notes", list(decoded.notes), [str(item) for item in case["notes"] or []])
    return problems + _history_problems(decoded, case.get("history") or [])


def _history_problems(decoded: Decoded, wanted: Any) -> list[str]:
    """The past readings, record by record: ``history: [{time, points, quality}]`` (none when absent)."""
    if not isinstance(wanted, list) or not all(isinstance(item, dict) for item in wanted):
        return ["history: expected a list of {time, points} records"]
    if len(decoded.history) != len(wanted):
        return [f"history: {len(decoded.history)} records {[p.as_dict() for p in decoded.history]}, expected"
                f" {len(wanted)}"]
    problems = []
    for index, (past, want) in enumerate(zip(decoded.history, wanted, strict=True)):
        if past.ts != want.get("time"):
            problems.append(f"history[{index}]: time {past.ts}, expected {want.get('time')!r}")
        record = Decoded(past.points)
        problems += [f"history[{index}]: {problem}" for problem in result_problems(
            record, {"points": want.get("points"), "quality": want.get("quality")})]
    return problems


def _listed(key: str, got: list[str], wanted: list[str]) -> list[str]:
    unmatched = list(got)
    problems = []
    for needle in wanted:
        hit = next((item for item in unmatched if needle in item), None)
        if hit is None:
            problems.append(f"{key}: nothing says '{needle}' (got {got})")
        else:
            unmatched.remove(hit)
    problems += [f"{key}: '{item}' is not expected" for item in unmatched]
    return problems


def same(got: object, want: object) -> bool:
    """Equal values of the same kind (True is not 1); floats within 1e-6."""
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    if isinstance(got, int | float) and isinstance(want, int | float):
        return math.isclose(float(got), float(want), rel_tol=0, abs_tol=1e-6)
    return got == want


def downlink_problems(codec: PayloadCodec, case: Any) -> list[str]:
    if not isinstance(case, dict) or "command" not in case:
        return ["needs command"]
    try:
        downlink = codec.encode(str(case["command"]), case.get("value"))
    except EncodeError as exc:
        if "error" in case and re.search(str(case["error"]), str(exc)):
            return []
        return [f"{case['command']}: unexpected encode error: {exc}"]
    if "error" in case:
        return [f"{case['command']}: expected an error matching '{case['error']}', got {downlink.data.hex()}"]
    problems = []
    if downlink.data.hex() != str(case.get("hex", "")).replace(" ", "").lower():
        problems.append(f"{case['command']}: encoded {downlink.data.hex()}, expected {case.get('hex')}")
    if downlink.f_port != case.get("f_port"):
        problems.append(f"{case['command']}: fPort {downlink.f_port}, expected {case.get('f_port')}")
    return problems
