"""Site configs of the benchmark, written as TOML files the real agent loads (``edge_agent run --config``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def to_toml(data: dict[str, Any]) -> str:
    """Top-level scalars, then ``[tables]`` and ``[[arrays of tables]]``; anything deeper is written inline."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if not _is_table(v) and not _is_table_array(v)]
    for key, value in data.items():
        if _is_table(value):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for item in value:
                lines.append(f"\n[[{key}]]")
                lines += [f"{k} = {_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def base_site(folder: Path, broker_port: int, *, gateway: str = "bench-gw") -> dict[str, Any]:
    """The common part: site, upstream to the bench's Mosquitto (QoS 1), the store and control socket in ``folder``."""
    return {
        "gateway_id": gateway,
        "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
        "upstream": {"host": "127.0.0.1", "port": broker_port, "topic_prefix": "fute",
                     "sync": {"reconnect_min": 0.2, "reconnect_max": 2.0}},
        "store": {"path": str(folder / "store.db"), "max_bytes": "2 GB"},
        "clock": {"source": "assume_synced"},
        "control": {"socket": str(folder / "control.sock")},
    }


def write(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "site.toml"
    path.write_text(to_toml(data))
    return path
