"""Where the files that ship with the agent live: in the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE_DIR / "_bundled"
_CHECKOUT = _PACKAGE_DIR.parent


def _find(name: str) -> Path:
    for base in (_BUNDLED, _CHECKOUT):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} is missing from this installation (looked in {_BUNDLED} and {_CHECKOUT})")


def drivers_dir() -> Path:
    """The device profiles and codecs (``drivers/`` of the source tree)."""
    return _find("drivers")


def configs_dir() -> Path:
    """The bundled site configs (``configs/`` of the source tree)."""
    return _find("configs")


def bundled_config(site: str) -> Path:
    """The bundled config of a site, by name (``demo``, ``esternay``...)."""
    return configs_dir() / f"{site}.toml"


def asyncapi_path() -> Path:
    """The upstream contract document."""
    return _find("docs") / "asyncapi.yaml"


def contexts_dir() -> Path:
    """The JSON-LD contexts of the NGSI-LD output: the project's own and copies of the Smart Data Models ones."""
    return _find("docs") / "contexts"
