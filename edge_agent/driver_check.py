"""The installer's view of a driver file: what it is, its domain, and whether it loads and passes its vectors.

``edge-agent drivers list`` reports every driver the site can use; ``edge-agent drivers check PATH`` one file (or
every driver file of a directory), one line per failure. No I/O beyond reading the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edge_agent.catalog import Catalog, DriverFile, Kind, unsafe_code
from edge_agent.errors import ConfigError
from edge_agent.lorawan.codecs import codec_name, load_codec
from edge_agent.lorawan.vectors import check_vectors
from edge_agent.modbus.profile import Profile, read_profile
from edge_agent.modbus.vectors import check_profile_vectors


@dataclass
class DriverReport:
    """One driver file, loaded and checked."""

    item: DriverFile
    model: str = "-"
    domain: str | None = None
    vectors: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def profile_domain(profile: Profile) -> str | None:
    """A profile's domain, where the profile format gives one (top level or under [device])."""
    for holder in (profile, profile.device):
        domain = getattr(holder, "domain", None)
        if isinstance(domain, str):
            return domain
    return None


def _count(path: Path, key: str) -> int:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return 0
    if not isinstance(data, dict):
        return 0
    return sum(len(data.get(k) or []) for k in key.split(","))


def inspect(item: DriverFile) -> DriverReport:
    """Load the file, run its vectors; every problem is a line naming the file, the key and the fix."""
    report = DriverReport(item)
    unsafe = unsafe_code(item.path) if item.site else None
    if unsafe is not None:
        report.failures = [unsafe]
        return report
    try:
        if item.kind == "lorawan":
            codec = load_codec(item.name, item.path)
            report.model, report.domain = codec.model, codec.domain
            report.failures = check_vectors(codec, item.vectors_path)
            report.vectors = _count(item.vectors_path, "uplinks,downlinks")
        else:
            profile = read_profile(item.path)
            report.model = f"{profile.device.manufacturer} {profile.device.model}"
            report.domain = profile_domain(profile)
            report.failures = check_profile_vectors(profile, item.vectors_path)
            report.vectors = _count(item.vectors_path, "vectors")
    except ConfigError as exc:
        report.failures = list(exc.problems)
    return report


def status(catalog: Catalog, item: DriverFile) -> str:
    """'in use' (and what it overrides), or which file takes precedence over it."""
    if catalog.in_use(item):
        others = [o.origin for o in catalog.files if o is not item and (o.kind, o.name) == (item.kind, item.name)]
        return f"in use, overrides {', '.join(others)}" if others else "in use"
    winner = catalog.find(item.kind, item.name)
    assert winner is not None
    return f"overridden by {winner.origin}"


def driver_file(path: Path) -> DriverFile | None:
    """The driver a path stands for: a profile, a codec, or the vectors file beside one."""
    path = path.resolve()
    if path.name.endswith(".vectors.yaml"):
        stem = path.name.removesuffix(".vectors.yaml")
        for candidate in (path.with_name(f"{stem}.toml"), path.with_name(f"{stem}.py"),
                          path.with_name(f"{stem}.codec.yaml")):
            if candidate.exists():
                return driver_file(candidate)
        return None
    kind: Kind | None = "modbus" if path.suffix == ".toml" else "lorawan" if codec_name(path) else None
    if kind is None:
        return None
    name = path.stem if kind == "modbus" else codec_name(path)
    assert name is not None
    return DriverFile(kind, name, path, str(path.parent.parent))


def driver_files(path: Path) -> list[DriverFile]:
    """The driver files under a path: itself, a modbus/ or lorawan/ folder, or a site directory holding both."""
    if path.is_file():
        found = driver_file(path)
        return [found] if found is not None else []
    folders = [path / "modbus", path / "lorawan"] if (path / "modbus").is_dir() or (path / "lorawan").is_dir() \
        else [path]
    files = []
    for folder in folders:
        if folder.is_dir():
            files += [item for child in sorted(folder.iterdir()) if child.is_file()
                      and not child.name.endswith(".vectors.yaml") and (item := driver_file(child)) is not None]
    return files
