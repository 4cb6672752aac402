"""Codecs loaded by path: a Python file (``<name>.py``) or a declarative table (``<name>.codec.yaml``).

``drivers/lorawan/registry.yaml`` names the shipped codecs; a site driver directory adds or overrides codecs by
file name (``edge_agent.catalog``). A file that cannot be loaded is a ConfigError naming the file, the key and the
fix: the devices using it are reported unusable, the agent runs on.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import cast

from edge_agent import resources
from edge_agent.config.yaml_text import read_yaml
from edge_agent.errors import ConfigError
from edge_agent.frozen import frozen
from edge_agent.lorawan.codec_api import (
    DOMAINS,
    CodecOptions,
    Decoded,
    DecodeError,
    Downlink,
    EncodeError,
    sanitized,
)

DecodeFn = Callable[[int, bytes, CodecOptions], Decoded]
EncodeFn = Callable[[str, object], Downlink]
TABLE_SUFFIX = ".codec.yaml"
PYTHON_SUFFIX = ".py"


@frozen
class PayloadCodec:
    """One device model's codec, checked when it was loaded."""

    name: str
    model: str
    path: Path
    uplink_fports: frozenset[int]
    commands: Mapping[str, str] = field(default_factory=dict)
    _decode: DecodeFn | None = None
    _encode: EncodeFn | None = None
    domain: str | None = None
    kind: str = "python"

    def decode(self, f_port: int, data: bytes, options: CodecOptions | None = None) -> Decoded:
        """Decode one payload. Anything but a result is a DecodeError, whatever the codec did wrong."""
        assert self._decode is not None
        try:
            decoded = self._decode(f_port, bytes(data), options or CodecOptions())
        except DecodeError:
            raise
        except Exception as exc:  # a codec bug must not escape as anything but a decode error
            raise DecodeError(f"codec {self.name} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(decoded, Decoded):
            raise DecodeError(f"codec {self.name} returned {type(decoded).__name__}, not a Decoded")
        return sanitized(decoded)

    def encode(self, command: str, value: object = None) -> Downlink:
        if command not in self.commands or self._encode is None:
            known = ", ".join(sorted(self.commands)) or "none"
            raise EncodeError(f"{self.model} has no command '{command}' (commands: {known})")
        try:
            return self._encode(command, value)
        except EncodeError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise EncodeError(f"bad value {value!r} for {command}: {exc}") from exc


def codec_name(path: Path) -> str | None:
    """The codec name a file stands for (its name without suffix), or None if it is not a codec file."""
    if path.name.endswith(TABLE_SUFFIX):
        return path.name.removesuffix(TABLE_SUFFIX)
    if path.suffix == PYTHON_SUFFIX and not path.name.startswith("_"):
        return path.stem
    return None


def vectors_path(path: Path) -> Path:
    """``<name>.vectors.yaml`` beside a codec file."""
    return path.with_name(f"{codec_name(path) or path.stem}.vectors.yaml")


def load_codec(name: str, path: Path) -> PayloadCodec:
    """Load one codec file and check that it has what a codec needs; ConfigError naming file, key and fix."""
    if path.name.endswith(TABLE_SUFFIX):
        return _load_table(name, path)
    return _load_python(name, path)


def _load_table(name: str, path: Path) -> PayloadCodec:
    from edge_agent.lorawan.table_codec import TableCodec
    from edge_agent.lorawan.table_spec import read_table_codec

    spec = read_table_codec(path)
    table = TableCodec(spec)
    commands = {command: item.description for command, item in spec.commands.items()}
    return PayloadCodec(name, spec.model, path, table.uplink_fports, commands, table.decode,
                 table.encode if commands else None, spec.domain, "table")


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"edge_agent_codec_{name}", path)
    if spec is None or spec.loader is None:
        raise ConfigError([f"{path}: (file): cannot be loaded as Python; a codec file ends in .py or .codec.yaml"])
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: (file): does not exist; check the path"]) from exc
    except SyntaxError as exc:
        raise ConfigError([f"{path}: line {exc.lineno}: Python syntax error ({exc.msg}); fix the code there"]) from exc
    except Exception as exc:  # a site file may raise anything while it loads: report it, never crash
        raise ConfigError([f"{path}: (import): {type(exc).__name__}: {exc}; a codec imports only"
                           " edge_agent.lorawan.codec_api and the standard library"]) from exc
    return module


def _load_python(name: str, path: Path) -> PayloadCodec:
    module = _load_module(name, path)
    decode = getattr(module, "decode", None)
    fports = getattr(module, "UPLINK_FPORTS", None)
    model = getattr(module, "MODEL", None)
    problems = []
    if not isinstance(model, str):
        problems.append(f"{path}: MODEL: is missing; set MODEL = \"<Vendor> <model>\"")
    if not isinstance(fports, frozenset | set) or not all(isinstance(p, int) for p in fports):
        problems.append(f"{path}: UPLINK_FPORTS: is missing or not a set of ints;"
                        " set UPLINK_FPORTS = frozenset({...})")
    if not callable(decode):
        problems.append(f"{path}: decode: is missing; define decode(f_port, data, options) -> Decoded")
    domain = getattr(module, "DOMAIN", None)
    if domain is not None and domain not in DOMAINS:
        problems.append(f"{path}: DOMAIN: '{domain}' is not a domain; use one of: {', '.join(DOMAINS)}")
    commands = getattr(module, "COMMANDS", {})
    encode = getattr(module, "encode", None)
    if not isinstance(commands, dict):
        problems.append(f"{path}: COMMANDS: must be a dict of command name -> description")
    elif commands and not callable(encode):
        problems.append(f"{path}: encode: COMMANDS are listed but encode(command, value) is missing; define it")
    if problems:
        raise ConfigError(problems)
    assert isinstance(model, str) and fports is not None
    return PayloadCodec(name, model, path, frozenset(fports), dict(commands), cast(DecodeFn, decode),
                 cast(EncodeFn | None, encode), domain)


class CodecRegistry:
    """The codecs listed in a registry file (``read``); each codec file is loaded once, on first use."""

    def __init__(self, folder: Path, files: Mapping[str, str]) -> None:
        """``files``: codec name -> its file, relative to ``folder``."""
        self.folder = folder
        self._files = dict(files)
        self._loaded: dict[str, PayloadCodec] = {}

    @classmethod
    def read(cls, folder: Path) -> CodecRegistry:
        """The registry of ``folder/registry.yaml``."""
        registry = read_yaml((folder / "registry.yaml").read_text(encoding="utf-8"))
        return cls(folder, registry["codecs"])

    def names(self) -> list[str]:
        return sorted(self._files)

    def path(self, name: str) -> Path:
        return self.folder / self._files[name]

    def get(self, name: str) -> PayloadCodec:
        if name not in self._files:
            raise KeyError(f"no codec named '{name}' (known: {', '.join(self.names())})")
        if name not in self._loaded:
            self._loaded[name] = load_codec(name, self.path(name))
        return self._loaded[name]

    def vectors_path(self, name: str) -> Path:
        return vectors_path(self.path(name))


@cache
def default_registry() -> CodecRegistry:
    """The codecs shipped with the agent (``drivers/lorawan`` of the checkout or the wheel)."""
    return CodecRegistry.read(resources.drivers_dir() / "lorawan")
