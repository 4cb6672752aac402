"""YAML of the agent's own files (the FIWARE mapping, the codec registry, driver files), read once.

Parsed by libyaml when PyYAML was built with it (several times faster than the pure-Python parser: the FIWARE
mapping alone took a tenth of a second), or by the pure-Python parser when asked (``fast=False``: its messages). A
process that reads configs compiled takes what the checking process parsed from the same text when the compiled
form has it (``edge_agent.config.compiled.parsed_text``): the daemon holds no YAML parser for the files its site
config uses. PyYAML's errors come out as ``YamlError``, with PyYAML's message.
"""

from __future__ import annotations

from typing import Any

from edge_agent.config.compiled import parsed_text


class YamlError(ValueError):
    """Text that is not YAML; the message is PyYAML's."""


def read_yaml(text: str, *, fast: bool = True) -> Any:
    """The data of the YAML ``text``; YamlError if it is not YAML."""
    return parsed_text("yaml", text, lambda: _parse(text, fast))


def _parse(text: str, fast: bool) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else yaml.SafeLoader
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise YamlError(str(exc)) from exc
