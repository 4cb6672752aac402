"""edge-agent on ARM: scripts/check-arm.sh installs the wheelhouse into a Debian bookworm root filesystem of
the gateway's architecture (arm64; armhf for 32-bit Raspberry Pi OS) and runs the demo site there, under
qemu-user emulation, against the rootfs's own Mosquitto. For armv7 it first compiles, in an armhf build root,
the dependencies PyPI has no armv7l wheel of.

Long (minutes; the first run makes the root filesystems with debootstrap, and the armv7 one compiles three
wheels emulated) and needs root, the package index and the Debian mirror: run with --run-slow. The root
filesystems are kept in $EDGE_AGENT_ARM_CACHE (default /var/tmp/edge-agent-arm) for the next run.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import PROJECT

CHECK = PROJECT / "scripts" / "check-arm.sh"
EM_ARM, EM_AARCH64 = 40, 183  # ELF e_machine of 32-bit ARM and of arm64
RECORD_TOPICS = {"fute/demo-esternay/readings", "fute/demo-esternay/events"}
# PyPI has no cp311 armv7l wheel of these: check-arm.sh builds them in its armhf root (linux_armv7l wheels)
BUILT_FOR_ARMV7 = {"pyyaml", "cffi", "argon2_cffi_bindings"}


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


def check_arm(*options: str) -> tuple[Path, str]:
    """Runs check-arm.sh with a 20 s demo; its cache directory and what it printed."""
    if os.geteuid() != 0:
        pytest.skip("check-arm.sh needs root (debootstrap, chroot, binfmt_misc)")
    cache = Path(os.environ.get("EDGE_AGENT_ARM_CACHE", "/var/tmp/edge-agent-arm"))
    result = subprocess.run([str(CHECK), "--cache", str(cache), "--seconds", "20", *options],
                            capture_output=True, text=True, timeout=3500, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return cache, result.stdout


def assert_installed_and_acknowledged(rootfs: Path, label: str, machine: int, said: str) -> None:
    """The agent's compiled dependencies and the rootfs's Mosquitto are ELF files for MACHINE, the daemon's modules
    imported from the optimised bytecode install.sh compiled, the record topics reached the broker as many times as
    the script said, and the agent's store holds acknowledged records."""
    site = next((rootfs / "opt/edge-agent/current/lib").glob("python3*/site-packages"))
    compiled = ("pydantic_core/_pydantic_core*.so", "yaml/_yaml*.so", "_cffi_backend*.so",
                "_argon2_cffi_bindings/_ffi*.so")
    native = [next(site.glob(pattern)) for pattern in compiled]
    assert [elf_machine(path) for path in native] == [machine] * len(native), native
    assert elf_machine(rootfs / "usr/sbin/mosquitto") == machine

    optimised = re.search(rf"{label} bytecode: in the unit's environment \(PYTHON\S* .*PYTHONOPTIMIZE=2 .*\) "
                          r"the daemon's (\d+) modules", said)
    assert optimised is not None and int(optimised.group(1)) > 100, said
    topics = (rootfs / "var/log/check-arm/records.topics").read_text().splitlines()
    assert topics and set(topics) <= RECORD_TOPICS, topics[:5]
    count = re.search(rf"{label} demo: (\d+) record messages reached Mosquitto inside the {label} rootfs", said)
    assert count is not None, said
    assert int(count.group(1)) == len(topics)
    with sqlite3.connect(rootfs / "var/lib/edge-agent-demo/store.db") as store:
        sent = store.execute("SELECT count(*) FROM records WHERE sent = 1").fetchone()[0]
    assert sent > 0, f"the agent's store (written by {label} SQLite) has records the broker acknowledged"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_records_reach_the_broker_inside_an_arm64_rootfs() -> None:
    cache, said = check_arm("--no-armv7")
    assert_installed_and_acknowledged(cache / "rootfs-arm64", "arm64", EM_AARCH64, said)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_records_reach_the_broker_inside_an_armv7_rootfs_with_the_wheels_pypi_lacks_built_there() -> None:
    cache, said = check_arm("--no-arm64")
    wheelhouse = cache / "wheelhouse-armv7"
    built = {wheel.name.split("-")[0].lower() for wheel in wheelhouse.glob("*-linux_armv7l.whl")}
    assert built >= BUILT_FOR_ARMV7, built
    listed = {line.split()[1].removeprefix("./") for line in (wheelhouse / "SHA256SUMS").read_text().splitlines()}
    assert {wheel.name for wheel in wheelhouse.glob("*.whl")} <= listed, "SHA256SUMS covers every wheel"
    assert re.search(r"armv7 wheelhouse: \d+ wheels", said) is not None, said
    assert_installed_and_acknowledged(cache / "rootfs-armv7", "armv7", EM_ARM, said)
