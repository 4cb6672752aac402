"""Where drivers come from: the bundled ones, and the site driver directories that add to and override them.

A site driver directory (default ``/etc/edge-agent/drivers``; ``[drivers] paths`` in the site config) holds
``modbus/<name>.toml`` profiles and ``lorawan/<name>.py`` or ``lorawan/<name>.codec.yaml`` codecs, each with its
``<name>.vectors.yaml``. Directories are searched in the order given, then the bundled drivers: the first file of a
name wins. Listing reads directory names only; a driver is loaded (and a site driver's vectors run) when asked
for. A file that cannot be used is a ConfigError naming the file, the key and the fix; the caller decides what
becomes of the devices using it (the services report them unusable and run on).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from edge_agent import resources
from edge_agent.errors import ConfigError
from edge_agent.frozen import frozen

if TYPE_CHECKING:  # the codecs and profiles are loaded when a driver is looked for, not with a site's config
    from edge_agent.lorawan.codecs import PayloadCodec
    from edge_agent.modbus.profile import Profile

DEFAULT_SITE_DIR = Path("/etc/edge-agent/drivers")
Kind = Literal["modbus", "lorawan"]
BUNDLED = "bundled"


@frozen
class DriverFile:
    """One driver file: a Modbus profile or a LoRaWAN codec, bundled or from a site directory."""

    kind: Kind
    name: str
    path: Path
    origin: str  # "bundled", or the site directory it was found in

    @property
    def site(self) -> bool:
        return self.origin != BUNDLED

    @property
    def vectors_path(self) -> Path:
        return self.path.with_name(f"{self.name}.vectors.yaml")


def _site_files(kind: Kind, directory: Path) -> list[DriverFile]:
    from edge_agent.lorawan.codecs import codec_name

    folder = directory / kind
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        name = path.stem if kind == "modbus" and path.suffix == ".toml" else None
        if kind == "lorawan":
            name = codec_name(path)
        if name is not None and path.is_file():
            found.append(DriverFile(kind, name, path, str(directory)))
    return found


def _bundled_files() -> list[DriverFile]:
    from edge_agent.lorawan.codecs import default_registry

    registry = default_registry()
    files = [DriverFile("lorawan", name, registry.path(name), BUNDLED) for name in registry.names()]
    folder = resources.drivers_dir() / "modbus"
    files += [DriverFile("modbus", path.stem, path, BUNDLED) for path in sorted(folder.glob("*.toml"))]
    return files


class Catalog:
    """Every driver the site can use, in search order: site directories first, then the bundled drivers."""

    def __init__(self, site_dirs: Sequence[Path]) -> None:
        self.site_dirs = tuple(Path(p) for p in site_dirs)
        files: list[DriverFile] = []
        for directory in self.site_dirs:
            files += _site_files("modbus", directory) + _site_files("lorawan", directory)
        self.files = files + _bundled_files()
        self._winners: dict[tuple[str, str], DriverFile] = {}
        for item in self.files:
            self._winners.setdefault((item.kind, item.name), item)
        self._codecs: dict[str, PayloadCodec | ConfigError] = {}
        self._profiles: dict[str, Profile | ConfigError] = {}

    def find(self, kind: Kind, name: str) -> DriverFile | None:
        """The file that wins for a name, or None."""
        return self._winners.get((kind, name))

    def names(self, kind: Kind) -> list[str]:
        return sorted(name for k, name in self._winners if k == kind)

    def in_use(self, item: DriverFile) -> bool:
        return self._winners.get((item.kind, item.name)) is item

    def codec(self, name: str) -> PayloadCodec:
        """The codec of that name, loaded once; ConfigError (cached too) if its file or its vectors fail."""
        found = self.find("lorawan", name)
        if found is None:
            raise ConfigError([f"no codec named '{name}'; known codecs: {', '.join(self.names('lorawan'))}"])
        if name not in self._codecs:
            try:
                self._codecs[name] = load_driver_codec(found)
            except ConfigError as exc:
                self._codecs[name] = exc
        loaded = self._codecs[name]
        if isinstance(loaded, ConfigError):
            raise loaded
        return loaded

    def profile(self, name: str) -> Profile:
        """The Modbus profile of that name, loaded once; ConfigError (cached too) if its file or vectors fail."""
        found = self.find("modbus", name)
        if found is None:
            raise ConfigError([f"no Modbus profile named '{name}'; known: {', '.join(self.names('modbus'))}"])
        if name not in self._profiles:
            try:
                self._profiles[name] = load_driver_profile(found)
            except ConfigError as exc:
                self._profiles[name] = exc
        loaded = self._profiles[name]
        if isinstance(loaded, ConfigError):
            raise loaded
        return loaded


def unsafe_code(path: Path) -> str | None:
    """Why a site Python codec must not be run: it, or its folder, is writable by anyone (it would run as the
    agent: a pushed config naming /tmp must not become a way in). None when it is safe to load."""
    if path.suffix != ".py":
        return None
    for target in (path, path.parent):
        try:
            if target.stat().st_mode & 0o002:
                return (f"{path}: (file): not loaded: {target} is writable by anyone, and a Python codec runs as the"
                        " agent; keep site drivers where only root can write (sudo chmod o-w on it)")
        except OSError:
            return None
    return None


def load_driver_codec(item: DriverFile) -> PayloadCodec:
    """Load a codec file; a site file must also pass its vectors."""
    problem = unsafe_code(item.path) if item.site else None
    if problem is not None:
        raise ConfigError([problem])
    from edge_agent.lorawan.codecs import load_codec

    codec = load_codec(item.name, item.path)
    if item.site:
        from edge_agent.lorawan.vectors import check_vectors  # and a YAML parser: for site files alone

        failures = check_vectors(codec, item.vectors_path)
        if failures:
            raise ConfigError(failures)
    return codec


def load_driver_profile(item: DriverFile) -> Profile:
    """Load a profile file; a site file must also pass its vectors."""
    from edge_agent.modbus.profile import read_profile

    profile = read_profile(item.path)
    if item.site:
        from edge_agent.modbus.vectors import check_profile_vectors  # and a YAML parser: for site files alone

        failures = check_profile_vectors(profile, item.vectors_path)
        if failures:
            raise ConfigError(failures)
    return profile


@cache
def catalog_for(site_dirs: tuple[Path, ...] = (DEFAULT_SITE_DIR,)) -> Catalog:
    """One catalog per list of site directories, shared by the config checks and the services."""
    return Catalog(site_dirs)
