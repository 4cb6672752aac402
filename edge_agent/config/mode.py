"""Whether this process checks site configs with pydantic, or reads them compiled (``edge_agent.config.compiled``).

A process is in one mode for its whole life, chosen before any config model is defined: the models are pydantic
models, or records of the same fields on ``edge_agent.config.lite`` (no pydantic loaded). The daemon,
``edge-agent config check`` and the technician's everyday commands choose the compiled config (``use_compiled``,
in ``edge_agent/cli/main.py``); everything else, the tests and the checker itself among them, validates as ever.
"""

from __future__ import annotations

import sys

_compiled = False


def compiled() -> bool:
    """Whether the config models of this process are records of compiled values (no pydantic)."""
    return _compiled


def use_compiled() -> bool:
    """Choose compiled configs for this process, unless a config model is already defined; whether it took."""
    global _compiled
    if "edge_agent.config.base" not in sys.modules:
        _compiled = True
    return _compiled
