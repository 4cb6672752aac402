"""Reading a site config file and turning every problem into ``PATH: dotted.key: message``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from edge_agent.catalog import DEFAULT_SITE_DIR, catalog_for
from edge_agent.config import mode
from edge_agent.config.base import BaseModel, ValidationError
from edge_agent.config.references import unknown_devices
from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError
from edge_agent.frozen import frozen

# The fields that pick a model in a tagged union (devices by driver, alarm rules by kind).
_DISCRIMINATORS = ("driver", "kind")


@frozen
class LoadedConfig:
    """A validated config, with where it came from and a hash the hypervisor can compare."""

    path: Path
    config: SiteConfig
    sha256: str


def load_config(path: Path | str) -> LoadedConfig:
    """Read and validate a site config; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ConfigError([problem(path, "(file)", f"cannot be read ({exc.strerror}); check the path")]) from exc
    return parse_config(raw_bytes, path)


def parse_config(raw_bytes: bytes, path: Path) -> LoadedConfig:
    """Validate config text that was read from ``path``; whatever the text, ConfigError is the only failure."""
    if mode.compiled():  # a fresh compiled form of this very text, or one compiled now: no TOML parsed here
        from edge_agent.config.compiled import compile_unparsed, read_unparsed

        known = read_unparsed(raw_bytes, path)
        if known is None:
            known = compile_unparsed(raw_bytes, path)
        if known is not None:
            return LoadedConfig(path=path, config=known, sha256=hashlib.sha256(raw_bytes).hexdigest())
    import tomllib  # a pydantic process; a compiled one only when the text hides where its store is

    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([problem(path, "(file)", f"is not UTF-8 text ({exc.reason}); save it as UTF-8")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([problem(path, "(toml)", f"{exc}; fix the TOML syntax there")]) from exc
    except RecursionError as exc:
        raise ConfigError([problem(path, "(toml)", "arrays or tables nested too deeply to read; a site config"
                                   " needs a few levels at most")]) from exc
    if mode.compiled():  # no pydantic here: the compiled form, or another process's check (config/compiled.py)
        from edge_agent.config.compiled import load_site

        return LoadedConfig(path=path, config=load_site(raw_bytes, path, data, driver_dirs(data)),
                            sha256=hashlib.sha256(raw_bytes).hexdigest())
    try:
        config = SiteConfig.model_validate(data, context={"catalog": catalog_for(driver_dirs(data))})
    except ValidationError as exc:
        raise ConfigError(format_errors(path, exc, data)) from exc
    except RecursionError as exc:
        raise ConfigError([problem(path, "(top level)", "values nested too deeply to check")]) from exc
    except ConfigError as exc:  # a site driver file that cannot be used: its own lines, made printable
        raise ConfigError([one_line(line) for line in exc.problems]) from exc
    except Exception as exc:  # a check that failed on a value it did not foresee: still one line, never a traceback
        raise ConfigError([problem(path, "(top level)", f"cannot be checked ({type(exc).__name__}: {exc}); "
                                   "look for an unusual value")]) from exc
    unknown = unknown_devices(config)
    if unknown:
        raise ConfigError([problem(path, key, message) for key, message in unknown])
    return LoadedConfig(path=path, config=config, sha256=hashlib.sha256(raw_bytes).hexdigest())


def compile_config(raw_bytes: bytes, path: Path) -> tuple[LoadedConfig, dict[str, Any]]:
    """Validate with pydantic (ConfigError as ``parse_config``), load the drivers the devices use and the FIWARE
    mapping; the LoadedConfig and its compiled form (``edge_agent/config/compiled.py``)."""
    import tomllib

    from edge_agent.config import compiled

    with compiled.recording() as documents:
        loaded = parse_config(raw_bytes, path)
        _load_drivers(loaded.config)
    site_dirs = driver_dirs(tomllib.loads(raw_bytes.decode("utf-8")))
    body = {"format": compiled.FORMAT, "key": compiled.site_key(raw_bytes, site_dirs),
            "dirs": [str(directory) for directory in site_dirs],
            "config": compiled.encode(loaded.config), "documents": documents}
    return loaded, body


def _load_drivers(config: SiteConfig) -> None:
    """Load (and so record) what the site's devices will need; a driver that fails, however it fails, fails again
    where it is used (the services report its devices unusable and run on), as without a compiled form."""
    from edge_agent.catalog import Catalog
    from edge_agent.contract.fiware import default_mapping
    from edge_agent.lorawan.config import CHIRPSTACK_CODEC

    catalog = Catalog(tuple(config.drivers.paths))  # not the shared one: its drivers may be loaded already
    for device in config.devices:
        with suppress(Exception):
            if device.driver == "modbus":
                catalog.profile(device.profile)
            elif device.driver == "lorawan" and device.codec != CHIRPSTACK_CODEC:
                catalog.codec(device.codec)
    with suppress(Exception):
        default_mapping.__wrapped__()  # not the process's cached one: it may be built already


def driver_dirs(data: Mapping[str, Any]) -> tuple[Path, ...]:
    """The site driver directories the raw config names (validated with the rest; the default if unreadable)."""
    drivers = data.get("drivers")
    paths = drivers.get("paths") if isinstance(drivers, Mapping) else None
    if isinstance(paths, list) and all(isinstance(item, str) for item in paths):
        return tuple(Path(item) for item in paths)
    return (DEFAULT_SITE_DIR,)


def problem(path: Path, key: str, message: str) -> str:
    """``PATH: dotted.key: message`` on one line: line breaks and other control characters are written escaped."""
    return one_line(f"{path}: {key}: {message}")


def one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def format_errors(path: Path, exc: ValidationError, data: Mapping[str, Any]) -> list[str]:
    """One line per problem: ``PATH: dotted.key: what is wrong and what is expected``."""
    lines = []
    for error in exc.errors(include_url=False):
        try:
            loc = _clean_location(error["loc"], data)
            if error["type"] in {"union_tag_invalid", "union_tag_not_found"}:
                loc.append(str(error.get("ctx", {}).get("discriminator", "driver")).strip("'"))
            key = ".".join(str(part) for part in loc) or "(top level)"
            lines.append(problem(path, key, _explain(error, loc, data)))
        except RecursionError:  # the value is too deep to describe: the plain location and message
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            lines.append(problem(path, key, str(error["msg"]).removeprefix("Value error, ")))
    return lines


def _clean_location(loc: Sequence[int | str], data: Mapping[str, Any]) -> list[int | str]:
    """Drop the union tags pydantic inserts, keep the keys as the user wrote them."""
    cleaned: list[int | str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, str) and _is_union_tag(node, part):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        cleaned.append(part)
        node = _child(node, part)
    return cleaned


def _is_union_tag(node: Any, part: str) -> bool:
    """pydantic puts the tag of a tagged union into error locations; the user never wrote it as a key."""
    if not isinstance(node, Mapping) or part in node:
        return False
    return any(node.get(field) == part for field in _DISCRIMINATORS)


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _explain(error: Any, loc: list[int | str], data: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc, data)
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        ctx = error.get("ctx", {})
        expected = ctx.get("expected_tags", "")
        found = ctx.get("tag")
        wrong = f"'{found}' is not known" if found is not None else "is missing"
        return f"{wrong}; expected one of: {expected}"
    if kind == "missing":
        return "is missing; this key is required"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if "input" in error and kind not in {"value_error", "assertion_error"}:
        return f"{message} (got {_show(error['input'])})"
    return message


def _unknown_key(loc: list[int | str], data: Mapping[str, Any]) -> str:
    allowed = _allowed_keys(loc[:-1], data)
    wrong = str(loc[-1])
    import difflib  # a wrong name only

    hint = difflib.get_close_matches(wrong, allowed, n=1)
    if hint:
        return f"unknown key; did you mean '{hint[0]}'?"
    if allowed:
        return f"unknown key; expected one of: {', '.join(sorted(allowed))}"
    return "unknown key; remove it"


def _allowed_keys(parent: list[int | str], data: Mapping[str, Any]) -> list[str]:
    annotation: Any = SiteConfig
    node: Any = data
    for part in parent:
        node = _child(node, part)
        if isinstance(part, int):
            continue
        model = _annotation_model(annotation, _parent_node(data, parent, part))
        field = model.model_fields.get(part) if model else None
        annotation = field.annotation if field else None
    model = _annotation_model(annotation, node)
    return list(model.model_fields) if model else []


def _parent_node(data: Mapping[str, Any], parent: list[int | str], part: str) -> Any:
    node: Any = data
    for step in parent:
        if step == part:
            return node
        node = _child(node, step)
    return node


def _annotation_model(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class a field holds, following list[...], Optional[...] and tagged unions."""
    candidates = _flatten(annotation)
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(models) <= 1:
        return models[0] if models else None
    if not isinstance(node, Mapping):
        return None
    for discriminator in _DISCRIMINATORS:
        tag = node.get(discriminator)
        for candidate in models:
            field = candidate.model_fields.get(discriminator)
            if tag is not None and field is not None and tag in _flatten(field.annotation):
                return candidate
    return None


def _flatten(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", None)
    metadata = getattr(annotation, "__metadata__", None)
    if metadata is not None:
        return _flatten(annotation.__origin__)
    if args:
        return [leaf for arg in args for leaf in _flatten(arg)]
    return [annotation]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
