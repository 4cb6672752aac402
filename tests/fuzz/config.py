"""Fuzz target: the bytes of a site config file, loaded as ``edge-agent config check`` and a config push load it.
The promise: a LoadedConfig or a ConfigError, nothing else; every problem (and every warning of a valid config)
one printable line ``PATH: dotted.key: message``."""

from __future__ import annotations

import re
from pathlib import Path

from edge_agent.config.load import parse_config
from edge_agent.config.warnings import config_warnings
from edge_agent.errors import ConfigError

PATH = Path("/etc/edge-agent/site.toml")
LINE = re.compile(rf"^{re.escape(str(PATH))}: .+?: .+$")


def target(data: bytes) -> None:
    try:
        loaded = parse_config(data, PATH)
    except ConfigError as exc:
        assert exc.problems, "a ConfigError without a problem"
        for line in exc.problems:
            assert line.isprintable() and LINE.match(line), f"not one 'PATH: key: message' line: {line!r}"
        return
    for line in config_warnings(loaded):
        assert line.isprintable() and line.startswith(f"{PATH}: "), f"not one line: {line!r}"
