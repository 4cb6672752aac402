"""Which sites need ``ssl`` in the daemon (edge_agent/openssl_guard.py); the processes themselves are in
tests/cli/test_imports.py (and tests/contract/test_security.py for a daemon reaching a TLS broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config.load import load_config
from edge_agent.openssl_guard import needs_ssl
from tests.support.site import write_site

_TCP_METER = """
[[devices]]
driver = "modbus"
name = "meter"
profile = "eastron_sdm120"
host = "127.0.0.1"
unit = 1
"""
_RTU_METER = """
[modbus]
buses = [{ name = "rs485", port = "/dev/ttyUSB0" }]

[[devices]]
driver = "modbus"
name = "meter"
profile = "eastron_sdm120"
bus = "rs485"
"""


@pytest.mark.parametrize(("devices", "extra", "needed"), [
    (_TCP_METER, "", False),
    (_TCP_METER, "[upstream.tls]\nverify = false\n", True),  # TLS to the broker
    ("", "[upstream.tls]\nca_file = \"/etc/ssl/ca.pem\"\n", True),
    (_RTU_METER, "", False),  # the project's own RTU client: pyserial, no pymodbus (which imports ssl)
    (_RTU_METER, "[upstream.tls]\nverify = false\n", True),
    (_TCP_METER, "[web]\nbind = \"0.0.0.0\"\ntls_cert = \"/etc/c.pem\"\ntls_key = \"/etc/k.pem\"\n", False),
], ids=["plain", "tls", "tls-ca", "rtu", "rtu-tls", "web-tls-is-another-process"])
def test_a_site_needs_ssl_for_tls_to_the_broker_alone(tmp_path: Path, devices: str, extra: str,
                                                               needed: bool) -> None:
    config = load_config(write_site(tmp_path, broker_port=1883, devices=devices, extra=extra)).config
    assert needs_ssl(config) is needed


_HASHLIB_PROBE = """
import sys
{before}
from edge_agent.openssl_guard import withhold_hashlib_openssl
withheld = withhold_hashlib_openssl()
import hashlib
print(withheld, "_hashlib" in sys.modules and sys.modules["_hashlib"] is not None,
      hashlib.sha256(b"abc").hexdigest())
"""
_ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2, appendix B.1


@pytest.mark.parametrize(("before", "withheld"), [
    ("", True),  # Python's own SHA-256 is there: OpenSSL's is withheld
    ('sys.modules["_sha256"] = None', False),  # a Python built without it keeps OpenSSL's, or it would have none
])
def test_hashlib_keeps_a_sha256_with_or_without_openssl(before: str, withheld: bool) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _HASHLIB_PROBE.format(before=before)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [str(withheld), str(not withheld), _ABC_SHA256]
