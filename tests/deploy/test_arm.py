"""edge-agent on ARM: scripts/check-arm.sh installs the arm64 wheelhouse into a Debian bookworm arm64 root
filesystem and runs the demo site there, under qemu-user emulation, against the rootfs's own Mosquitto.

Long (minutes; the first run makes the rootfs with debootstrap) and needs root, the package index and the
Debian mirror: run with --run-slow. The rootfs is kept in $EDGE_AGENT_ARM_CACHE (default /var/tmp/edge-agent-arm)
for the next run.
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
EM_AARCH64 = 183  # ELF e_machine of arm64
RECORD_TOPICS = {"fute/demo-esternay/readings", "fute/demo-esternay/events"}


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_records_reach_the_broker_inside_an_arm64_rootfs() -> None:
    if os.geteuid() != 0:
        pytest.skip("check-arm.sh needs root (debootstrap, chroot, binfmt_misc)")
    cache = Path(os.environ.get("EDGE_AGENT_ARM_CACHE", "/var/tmp/edge-agent-arm"))
    result = subprocess.run([str(CHECK), "--cache", str(cache), "--seconds", "20", "--no-armv7"],
                            capture_output=True, text=True, timeout=3500, check=False)
    assert result.returncode == 0, result.stderr[-4000:]

    rootfs = cache / "rootfs-arm64"
    site = next((rootfs / "opt/edge-agent/current/lib").glob("python3*/site-packages"))
    native = next(site.glob("pydantic_core/_pydantic_core*.so"))
    assert elf_machine(native) == EM_AARCH64, "the installed wheels are arm64 ones"
    assert elf_machine(rootfs / "usr/sbin/mosquitto") == EM_AARCH64

    topics = (rootfs / "var/log/check-arm/records.topics").read_text().splitlines()
    assert topics and set(topics) <= RECORD_TOPICS, topics[:5]
    said = re.search(r"arm64 demo: (\d+) record messages reached Mosquitto inside the arm64 rootfs", result.stdout)
    assert said is not None, result.stdout
    assert int(said.group(1)) == len(topics)
    with sqlite3.connect(rootfs / "var/lib/edge-agent-demo/store.db") as store:
        sent = store.execute("SELECT count(*) FROM records WHERE sent = 1").fetchone()[0]
    assert sent > 0, "the agent's store (written by arm64 SQLite) has records the broker acknowledged"
