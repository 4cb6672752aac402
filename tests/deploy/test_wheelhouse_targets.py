"""scripts/build-wheelhouse.sh --target: the platform tags pip is given for each Raspberry Pi OS image.

Only the option parsing: --print-platforms stops before pip, so this needs no network. The wheelhouses
themselves are built (from the package index) by scripts/check-arm.sh, run by tests/deploy/test_arm.py.
"""

from __future__ import annotations

import subprocess

from tests.deploy.conftest import PROJECT

BUILD = PROJECT / "scripts" / "build-wheelhouse.sh"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD), *args], capture_output=True, text=True, timeout=30, check=False)


def manylinux_up_to_bookworm(arch: str) -> list[str]:
    return [f"manylinux_2_{minor}_{arch}" for minor in range(36, 16, -1)] + [f"manylinux2014_{arch}"]


def test_the_default_is_the_64_bit_image() -> None:
    default, arm64 = run("--print-platforms"), run("--target", "pi-arm64", "--print-platforms")
    assert default.returncode == 0 and default.stdout == arm64.stdout
    lines = arm64.stdout.splitlines()
    assert lines[0] == "python 3.11"
    assert lines[1:] == manylinux_up_to_bookworm("aarch64"), "glibc 2.36: every manylinux tag up to 2_36, no musl"


def test_the_32_bit_image_also_takes_wheels_built_for_raspberry_pi_os() -> None:
    result = run("--target", "pi-armv7", "--print-platforms")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [*manylinux_up_to_bookworm("armv7l"), "linux_armv7l"]


def test_options_after_the_target_still_apply() -> None:
    result = run("--target", "pi-armv7", "--glibc", "2.31", "--python-version", "3.9", "--print-platforms")
    lines = result.stdout.splitlines()
    assert lines[0] == "python 3.9"
    assert lines[1] == "manylinux_2_31_armv7l" and lines[-1] == "linux_armv7l"


def test_an_unknown_target_is_a_clear_error() -> None:
    result = run("--target", "pi-zero", "--print-platforms")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "build-wheelhouse.sh: error: unknown --target pi-zero: pi-arm64 (Raspberry Pi OS 64-bit) or pi-armv7 (32-bit)"
    )
    assert result.stdout == ""
