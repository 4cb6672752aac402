"""A site config checked once by pydantic, read back by the daemon and the commands without pydantic.

A process that reads configs compiled (``edge_agent.config.mode``: the daemon, ``edge-agent config check`` and the
everyday commands) reads the compiled form beside the store (``<store>.compiled.json``) when its key matches, and
builds the same values on ``edge_agent.config.lite``'s records, never running pydantic. Otherwise it has a
pydantic process (``python -m edge_agent.config.checker``) validate the site config, load the drivers its devices
use and the FIWARE mapping, and write what they became as tagged JSON; that process's problems are reported
exactly as a check in process reports them.

The key is a SHA-256 of the compiled form's version, of the checking code (the model modules, the bundled
drivers and pydantic's version), of the site config's bytes and of every file in the site driver directories it
names. A file whose key or own checksum does not match, or that cannot be read or decoded, is never used. No code
is loaded from it: it holds JSON, and a value becomes one of the model classes listed below or a plain value.

The YAML texts read while compiling (the FIWARE mapping, the codec registry and table codecs) are recorded with the
documents by their SHA-256 (``parsed_text``), and so are the Modbus profiles' TOML: the daemon parses none of them
again, and loads neither a YAML nor a TOML parser.

A driver file or the FIWARE mapping is validated through ``validate``: in a pydantic process it runs pydantic (and,
while a config is being compiled, remembers the result by the SHA-256 of the input); in a compiled process it
takes the remembered result, or has a pydantic process validate that input.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path, PurePath
from typing import Any, TypeVar

from edge_agent.config import mode
from edge_agent.errors import ConfigError

FORMAT = 1
SUFFIX = ".compiled.json"
DEFAULT_STORE = Path("/var/lib/edge-agent/store.db")

# The modules whose classes a compiled form may name (models and enums); nothing else is ever looked up.
MODEL_MODULES = ("edge_agent.config.base", "edge_agent.config.site", "edge_agent.config.devices",
                 "edge_agent.config.store", "edge_agent.config.upstream", "edge_agent.config.web",
                 "edge_agent.modbus.config", "edge_agent.modbus.profile", "edge_agent.lorawan.config",
                 "edge_agent.lorawan.table_spec", "edge_agent.rules.config", "edge_agent.reports.config",
                 "edge_agent.contract.fiware")
ENUM_MODULES = (*MODEL_MODULES, "edge_agent.modbus.datatypes", "edge_agent.domains")
# The code that decides what a config becomes: a change in any of it makes every compiled form stale.
_CODE = (*ENUM_MODULES, "edge_agent.config.load", "edge_agent.config.references", "edge_agent.config.compiled",
         "edge_agent.config.checker", "edge_agent.config.lite", "edge_agent.catalog")

M = TypeVar("M")


class Unusable(Exception):
    """A compiled form that cannot be used (stale, altered, unreadable): the config is checked again."""


# --- values <-> tagged JSON -------------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A model, or a value a model holds, as JSON that ``decode`` turns back into it."""
    if isinstance(value, enum.Enum):
        return {"$e": _tag(type(value), ENUM_MODULES), "v": encode(value.value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(key), encode(item)] for key, item in value.items()]}
    if isinstance(value, PurePath):
        return {"$path": str(value)}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$time": value.isoformat()}
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, Mapping):
        return {"$model": _tag(type(value), MODEL_MODULES),
                "v": {name: encode(getattr(value, name)) for name in fields}}
    raise TypeError(f"{type(value).__name__} cannot be compiled")


def decode(node: Any) -> Any:
    """The value ``encode`` made ``node`` of; models only in a compiled process. Unusable if anything is off."""
    if isinstance(node, list):
        return [decode(item) for item in node]
    if isinstance(node, dict):
        return _convert({key: decode(item) for key, item in node.items()})
    if node is None or isinstance(node, bool | int | float | str):
        return node
    raise Unusable(f"unexpected {type(node).__name__}")


def _convert(node: dict[str, Any]) -> Any:
    """One tagged object whose parts are decoded already (also ``json.loads``'s object_hook: no tree is held)."""
    kind = next(iter(node), "")
    if not kind.startswith("$"):
        return node  # a model's fields
    if len(node) != (2 if kind in ("$e", "$model") else 1):
        raise Unusable(f"bad {kind}")
    value = node[kind]
    try:
        if kind == "$tuple" and isinstance(value, list):
            return tuple(value)
        if kind == "$dict" and isinstance(value, list):
            return {key: item for key, item in value}
        if kind == "$path" and isinstance(value, str):
            return Path(value)
        if kind == "$datetime" and isinstance(value, str):
            return datetime.datetime.fromisoformat(value)
        if kind == "$date" and isinstance(value, str):
            return datetime.date.fromisoformat(value)
        if kind == "$time" and isinstance(value, str):
            return datetime.time.fromisoformat(value)
        if kind == "$e" and isinstance(value, str):
            return _enum(value)(node["v"])
        if kind == "$model" and isinstance(value, str):
            return _model(value, node["v"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Unusable(f"bad {kind}: {exc}") from exc
    raise Unusable(f"unknown tag {kind}")


def _tag(cls: type, modules: tuple[str, ...]) -> str:
    if cls.__module__ not in modules or "." in cls.__qualname__:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} cannot be compiled")
    return f"{cls.__module__}:{cls.__qualname__}"


def _lookup(tag: str, modules: tuple[str, ...]) -> Any:
    module, _, name = tag.partition(":")
    if module not in modules or not name.isidentifier():
        raise Unusable(f"{tag} is not a config class")
    return getattr(importlib.import_module(module), name, None)


def _enum(tag: str) -> type[enum.Enum]:
    cls = _lookup(tag, ENUM_MODULES)
    if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
        raise Unusable(f"{tag} is not an enum")
    return cls


def _model(tag: str, values: Any) -> Any:
    """A record of the model ``tag`` names, of ``values`` (decoded already)."""
    from edge_agent.config.lite import BaseModel

    if not mode.compiled():
        raise Unusable("models are decoded only in a process that reads compiled configs")
    _lookup(tag, MODEL_MODULES)
    cls = BaseModel.registry.get(tag)
    if cls is None or not isinstance(values, dict) or set(values) != set(cls.model_fields):
        raise Unusable(f"{tag}: not that model, or not its fields")
    return cls.filled(values)


def digest(node: Any) -> str:
    return hashlib.sha256(json.dumps(node, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --- validating a document (a driver file, the FIWARE mapping) -------------------------------------------------

_recorded: dict[str, Any] | None = None  # while compiling: document key -> encoded result
# In a compiled process: the documents of the compiled site config, each as its JSON text. They are decoded when a
# driver file or the mapping is read (at start, and when a codec is built), and held for the process's life: as
# trees of JSON they took about 0.5 MB at a commune (two Modbus profiles, a codec's table, the FIWARE mapping), as
# text 75 KB (tests/config/test_compiled.py).
_known: dict[str, str] = {}


@contextmanager
def recording() -> Iterator[dict[str, Any]]:
    """While in it, ``validate`` keeps what each document became (a pydantic process compiling a config)."""
    global _recorded
    if mode.compiled():
        raise RuntimeError("compiling needs pydantic: this process reads compiled configs")
    _recorded = {}
    try:
        yield _recorded
    finally:
        _recorded = None


def known_documents() -> dict[str, Any]:
    """The documents this compiled process has (encoded), by key."""
    return {key: json.loads(text) for key, text in _known.items()}


def _keep(documents: Mapping[str, Any]) -> None:
    for key, node in documents.items():
        _known[key] = json.dumps(node, separators=(",", ":"))


def _known_document(key: str) -> Any:
    """The document ``key`` (which is known), decoded: records of the models it holds."""
    return decode(json.loads(_known[key]))


def document_key(model: type, data: Any) -> str:
    return f"{model.__module__}:{model.__qualname__}:{digest(encode(data))}"


def validate(model: type[M], data: Any) -> M:
    """``model.model_validate(data)``; in a compiled process, without pydantic (see the module's docstring)."""
    if not mode.compiled():
        result: M = model.model_validate(data)  # type: ignore[attr-defined]
        if _recorded is not None:
            with suppress(TypeError):  # not compilable: a compiled process has it validated when it needs it
                _recorded[document_key(model, data)] = encode(result)
        return result
    try:
        key = document_key(model, data)
    except TypeError as exc:  # YAML's !!binary or !!set: never a config value, and nothing to send the checker
        from edge_agent.config.lite import ValidationError

        raise ValidationError([{"type": "value_error", "loc": (), "msg": f"holds a value no config holds ({exc})",
                                "input": None}]) from exc
    if key not in _known:
        _keep({key: _validate_elsewhere(model, data)})
    try:
        decoded: M = _known_document(key)
    except Unusable:
        _keep({key: _validate_elsewhere(model, data)})
        decoded = _known_document(key)
    return decoded


def parsed_text(kind: str, text: str, parse: Callable[[], Any]) -> Any:
    """What ``parse()`` makes of ``text``, a file in the language ``kind`` (``yaml``: a driver file, the FIWARE
    mapping; ``toml``: a Modbus profile). While a config is being compiled, the result is recorded among the
    documents by the text's SHA-256; a compiled process takes it from there when it has it (no parser loaded), and
    parses otherwise (a file the check did not read)."""
    key = f"{kind}:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if mode.compiled() and key in _known:
        with suppress(Unusable):
            return _known_document(key)
    data = parse()
    if _recorded is not None:
        with suppress(TypeError, RecursionError):  # !!binary, !!set: not compilable; parsed again where needed
            _recorded[key] = encode(data)
    return data


def _validate_elsewhere(model: type, data: Any) -> Any:
    """Validation by a pydantic process: the encoded result, or that process's ValidationError raised here."""
    from edge_agent.config.lite import ValidationError

    answer = _child(["document", f"{model.__module__}:{model.__qualname__}"], json.dumps(encode(data)).encode())
    if "errors" in answer:
        raise ValidationError(decode(answer["errors"]))
    return answer["ok"]


# --- compiling a site config -----------------------------------------------------------------------------------


def cache_path(data: Mapping[str, Any], config_path: Path) -> Path:
    """Beside the store the raw config names (unvalidated: only a place to look; the key decides the rest)."""
    store = data.get("store")
    path = store.get("path") if isinstance(store, Mapping) else None
    store_path = Path(path) if isinstance(path, str) and path else DEFAULT_STORE
    return store_path.with_name(store_path.name + SUFFIX)


def site_key(raw_bytes: bytes, site_dirs: Sequence[Path]) -> str:
    """What the compiled form depends on: the checking code, the config's bytes, its site driver files."""
    from edge_agent.resources import drivers_dir

    hasher = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    package = Path(__file__).resolve().parents[2]
    for name in _CODE:
        _hash_file(hasher, package / (name.replace(".", "/") + ".py"))
    _hash_tree(hasher, drivers_dir())
    pydantic = importlib.util.find_spec("pydantic")  # its version (which pins pydantic-core's): found, not imported
    if pydantic is not None and pydantic.origin is not None:
        _hash_file(hasher, Path(pydantic.origin).with_name("version.py"))
    hasher.update(b"\0config\0" + raw_bytes)
    for directory in site_dirs:
        hasher.update(b"\0dir\0" + str(directory).encode())
        for kind in ("modbus", "lorawan"):
            _hash_tree(hasher, directory / kind)
    return hasher.hexdigest()


def _hash_file(digest: Any, path: Path) -> None:
    digest.update(b"\0file\0" + str(path).encode() + b"\0")
    try:
        digest.update(path.read_bytes())
    except OSError as exc:
        digest.update(f"unreadable {exc.errno}".encode())


def _hash_tree(digest: Any, folder: Path) -> None:
    try:
        paths = sorted(folder.rglob("*"))
    except OSError:
        paths = []
    for path in paths:
        if path.is_file():
            _hash_file(digest, path)


def serialize(form: Mapping[str, Any]) -> bytes:
    """A header line (version, key, SHA-256 of the rest, the site driver directories), the config's line, the
    documents' line."""
    payload = (json.dumps(form["config"], separators=(",", ":")).encode() + b"\n"
               + json.dumps(form["documents"], separators=(",", ":")).encode())
    header = {"format": form["format"], "key": form["key"], "sha256": hashlib.sha256(payload).hexdigest(),
              "dirs": list(form.get("dirs", ()))}
    return json.dumps(header).encode() + b"\n" + payload


def write(form: Mapping[str, Any], data: Mapping[str, Any], config_path: Path) -> Path | None:
    """Write the compiled form beside the store, atomically; None if the place cannot be written (or does not
    exist yet)."""
    import tempfile

    target = cache_path(data, config_path)
    try:  # never creates the folder: the store's is made by whoever runs the agent (systemd's StateDirectory)
        fd, temporary = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(serialize(form))
            os.chmod(temporary, 0o666 & ~_umask())  # as readable as the store beside it, not mkstemp's 0600
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return None
    return target


def _umask() -> int:
    """This process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o027


def read(raw_bytes: bytes, data: Mapping[str, Any], config_path: Path,
         site_dirs: Sequence[Path]) -> tuple[Any, dict[str, Any]]:
    """The config and the documents of this config's compiled form if it is fresh and intact; Unusable otherwise.
    The config is decoded as it is parsed (records, never a tree of JSON first)."""
    header, payload = _read_checked(cache_path(data, config_path))
    if header.get("key") != site_key(raw_bytes, site_dirs):
        raise Unusable("stale")
    return _decode_payload(payload)


def read_unparsed(raw_bytes: bytes, config_path: Path) -> Any | None:
    """The config of this config's fresh compiled form, found without parsing the TOML (tomllib takes tens of ms
    on a commune's config): its place from ``store_hint``, its site driver directories from its header (the key
    covers both the config's bytes and those directories, so a form that matches was compiled from this very
    text). None when there is no such form: the text is then parsed and checked as ever."""
    try:
        store = store_hint(raw_bytes)
        header, payload = _read_checked(store.with_name(store.name + SUFFIX))
        dirs = header.get("dirs")
        if not isinstance(dirs, list) or not all(isinstance(name, str) for name in dirs):
            raise Unusable("no driver directories")
        if header.get("key") != site_key(raw_bytes, [Path(name) for name in dirs]):
            raise Unusable("stale")
        config, documents = _decode_payload(payload)
    except Unusable:
        return None
    _keep(documents)
    return config


_STORE_TABLE = re.compile(rb"^[ \t]*\[[ \t]*store[ \t]*\][ \t]*(?:#.*)?$", re.MULTILINE)
_PATH_KEY = re.compile(rb"""^[ \t]*path[ \t]*=[ \t]*(?:"([^"\\\n]*)"|'([^'\n]*)')[ \t]*(?:#.*)?$""", re.MULTILINE)
_TABLE = re.compile(rb"^[ \t]*\[", re.MULTILINE)


# The store's table or keys written any way: ``[store]``, ``["store"]``, ``store = {...}``, ``store.path = ...``.
_STORE_MENTIONED = re.compile(rb"""^[ \t]*\[?[ \t]*["']?store["']?[ \t]*[\].=]""", re.MULTILINE)


def store_hint(raw_bytes: bytes) -> Path:
    """Where the store lies, read from the text without parsing it: the ``path`` of a ``[store]`` table written a
    key a line, else the default place. Only a place to look (the key decides the rest): a config that names its
    store otherwise is parsed as ever."""
    return _named_store(raw_bytes) or DEFAULT_STORE


def store_hint_is_sure(raw_bytes: bytes) -> bool:
    """Whether ``store_hint`` names the store's very place: the text has a ``[store]`` table whose ``path`` is
    written a key a line, or mentions no store at all (the default place). A text that writes it otherwise may
    mean another place, which only parsing it tells."""
    return _named_store(raw_bytes) is not None or _STORE_MENTIONED.search(raw_bytes) is None


def _named_store(raw_bytes: bytes) -> Path | None:
    table = _STORE_TABLE.search(raw_bytes)
    if table is not None:
        following = _TABLE.search(raw_bytes, table.end())
        key = _PATH_KEY.search(raw_bytes, table.end(), following.start() if following else len(raw_bytes))
        if key is not None:
            with suppress(UnicodeDecodeError):
                name = (key.group(1) if key.group(1) is not None else key.group(2)).decode("utf-8")
                if name:
                    return Path(name)
    return None


def _read_checked(location: Path) -> tuple[dict[str, Any], bytes]:
    """A compiled form's header and payload, of this version and intact; Unusable otherwise."""
    try:
        with open(location, "rb") as source:
            header_line, _, payload = source.read().partition(b"\n")
        header = json.loads(header_line)
    except (OSError, ValueError) as exc:
        raise Unusable(f"cannot be read: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Unusable("of another version")
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise Unusable("altered")
    return header, payload


def _decode_payload(payload: bytes) -> tuple[Any, dict[str, Any]]:
    config_line, _, documents_line = payload.partition(b"\n")
    try:
        config = json.loads(config_line, object_hook=_convert)
        documents = json.loads(documents_line)
    except (ValueError, RecursionError) as exc:
        raise Unusable(f"cannot be decoded: {exc}") from exc
    if not isinstance(documents, dict):
        raise Unusable("no documents")
    return config, documents


def load_site(raw_bytes: bytes, path: Path, data: Mapping[str, Any], site_dirs: Sequence[Path]) -> Any:
    """In a compiled process: the SiteConfig, from a fresh compiled form, or from a pydantic process that checks
    the config (its problems raised here as ConfigError) and writes the form."""
    try:
        config, documents = read(raw_bytes, data, path, site_dirs)
    except Unusable:
        return compile_elsewhere(raw_bytes, path)
    _keep(documents)
    return config


def compile_unparsed(raw_bytes: bytes, path: Path) -> Any | None:
    """In a compiled process without a fresh compiled form: the SiteConfig from a pydantic process that parses and
    checks the text (its problems raised here as ConfigError) and writes the form where ``read_unparsed`` will
    find it, this process parsing nothing (the daemon then never loads a TOML parser: 377 KB). None when only
    parsing the text tells where the form goes (``store_hint_is_sure``)."""
    return compile_elsewhere(raw_bytes, path) if store_hint_is_sure(raw_bytes) else None


def compile_elsewhere(raw_bytes: bytes, path: Path) -> Any:
    """The SiteConfig a pydantic process checked and compiled (writing the form); its problems as ConfigError."""
    answer = _child(["site", str(path)], raw_bytes)
    if "problems" in answer:
        raise ConfigError([str(line) for line in answer["problems"]]) from None
    try:
        form = answer["ok"]
        config, documents = decode(form["config"]), form["documents"]
        if not isinstance(documents, dict):
            raise Unusable("no documents")
    except (Unusable, KeyError, TypeError) as exc:
        raise ConfigError([f"{path}: (top level): cannot be checked ({exc})"]) from exc
    _keep(documents)
    return config


# --- the pydantic process --------------------------------------------------------------------------------------


def _child(args: list[str], payload: bytes) -> dict[str, Any]:
    """Run ``edge_agent.config.checker`` (pydantic) on ``payload``; its one JSON answer."""
    done = subprocess.run([sys.executable, "-m", "edge_agent.config.checker", *args], input=payload,
                          capture_output=True, check=False)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no answer"]
        raise ConfigError([f"(config): the checking process failed ({tail[0][:200]}); run 'edge-agent config"
                           " check' for details"])
    return answer
