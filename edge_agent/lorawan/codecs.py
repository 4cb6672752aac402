"""The explicit codec registry: ``drivers/lorawan/registry.yaml`` names each codec file, loaded by path."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import cast

import yaml

from edge_agent import resources
from edge_agent.errors import ConfigError
from edge_agent.lorawan.codec_api import CodecOptions, Decoded, DecodeError, Downlink, EncodeError

DecodeFn = Callable[[int, bytes, CodecOptions], Decoded]
EncodeFn = Callable[[str, object], Downlink]


@dataclass(frozen=True)
class Codec:
    """One device model's codec, checked when it was loaded."""

    name: str
    model: str
    path: Path
    uplink_fports: frozenset[int]
    commands: Mapping[str, str] = field(default_factory=dict)
    _decode: DecodeFn | None = None
    _encode: EncodeFn | None = None
    domain: str | None = None  # what the device serves (DOMAIN of the codec file): lighting, waste, mobility...

    def decode(self, f_port: int, data: bytes, options: CodecOptions | None = None) -> Decoded:
        """Decode one payload. Anything but a result is a DecodeError, whatever the codec did wrong."""
        assert self._decode is not None
        try:
            return self._decode(f_port, bytes(data), options or CodecOptions())
        except DecodeError:
            raise
        except Exception as exc:  # a codec bug must not escape as anything but a decode error
            raise DecodeError(f"codec {self.name} failed: {type(exc).__name__}: {exc}") from exc

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


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"edge_agent_codec_{name}", path)
    if spec is None or spec.loader is None:
        raise ConfigError([f"codec {name}: cannot load {path}"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_codec(name: str, path: Path) -> Codec:
    """Load one codec file and check that it has what a codec needs."""
    module = _load_module(name, path)
    decode = getattr(module, "decode", None)
    fports = getattr(module, "UPLINK_FPORTS", None)
    model = getattr(module, "MODEL", None)
    if not callable(decode) or not isinstance(fports, frozenset | set) or not isinstance(model, str):
        raise ConfigError([f"codec {name} ({path}): needs MODEL, UPLINK_FPORTS and decode()"])
    commands = dict(getattr(module, "COMMANDS", {}))
    encode = getattr(module, "encode", None)
    if commands and not callable(encode):
        raise ConfigError([f"codec {name} ({path}): lists COMMANDS but has no encode()"])
    domain = getattr(module, "DOMAIN", None)
    return Codec(name, model, path, frozenset(fports), commands, cast(DecodeFn, decode),
                 cast(EncodeFn | None, encode), domain if isinstance(domain, str) else None)


class CodecRegistry:
    """The codecs listed in a registry file; loaded once each, on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        registry = yaml.safe_load((folder / "registry.yaml").read_text(encoding="utf-8"))
        self._files: dict[str, str] = dict(registry["codecs"])
        self._loaded: dict[str, Codec] = {}

    def names(self) -> list[str]:
        return sorted(self._files)

    def get(self, name: str) -> Codec:
        if name not in self._files:
            raise KeyError(f"no codec named '{name}' (known: {', '.join(self.names())})")
        if name not in self._loaded:
            self._loaded[name] = load_codec(name, self.folder / self._files[name])
        return self._loaded[name]

    def vectors_path(self, name: str) -> Path:
        return self.folder / f"{Path(self._files[name]).stem}.vectors.yaml"


@cache
def default_registry() -> CodecRegistry:
    """The codecs shipped with the agent (``drivers/lorawan`` of the checkout or the wheel)."""
    return CodecRegistry(resources.drivers_dir() / "lorawan")
