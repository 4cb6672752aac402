"""The fuzz targets by name: the one list the default suite's replay, its generated inputs and the long
coverage-guided run (``python -m tests.fuzz.run``) all draw from.

Each target is a plain ``target(data: bytes) -> None``: it swallows the surface's documented clean error (a
``DecodeError``, a ``ConfigError``, an error answer, a counted malformed message) after checking it, and raises on
anything else, an escaped exception or a broken promise (see each module's docstring and README.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"

# name -> module of tests.fuzz defining ``target``; imported on demand (a coverage-guided run instruments the
# product modules a target imports, so nothing of the agent is imported before it asks).
MODULES = {"chirpstack": "chirpstack", "codecs": "codecs", "commands": "commands", "config": "config",
           "control": "control"}
# Targets that talk to the running agent of ``gateway.py``.
NEEDS_GATEWAY = frozenset({"commands", "control"})


def target(name: str) -> Callable[[bytes], None]:
    module = importlib.import_module(f"tests.fuzz.{MODULES[name]}")
    function: Callable[[bytes], None] = module.target
    return function


def seeds(name: str) -> list[Path]:
    """The committed corpus of a target, in a stable order."""
    return sorted(path for path in (CORPUS / name).iterdir() if path.is_file())


def close() -> None:
    """Stop what the targets started in this process (the gateway, the ChirpStack store)."""
    from tests.fuzz import chirpstack, gateway

    gateway.close_shared()
    chirpstack.close()
