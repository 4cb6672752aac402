"""``edge-agent doctor`` against real peers: a TLS Mosquitto with a short-lived certificate, socat ptys, a store."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import assert_fits, cli, site
from tests.modbus.helpers import socat_pair
from tests.support.broker import Broker
from tests.support.ports import free_port, wait_port


def make_certificate(directory: Path, days: int) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 valid for ``days`` days (its own CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / f"cert-{days}.pem", directory / f"key-{days}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(days),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_broker(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Broker, int, Path]]:
    cert, key = make_certificate(tmp_path, request.param)
    tls_port = free_port()
    tls = f"listener {tls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n"
    broker = Broker(tmp_path, extra=tls).start()
    wait_port(tls_port)
    yield broker, tls_port, cert
    broker.stop()


def doctor(config: Path, *extra: str) -> tuple[int, dict[str, dict[str, str]], str]:
    as_json = cli(config, "doctor", "--json", *extra)
    text = cli(config, "doctor", *extra)
    assert "Traceback" not in as_json.stderr + text.stderr
    assert_fits(text.stdout)

    checks = {c["name"]: c for c in json.loads(as_json.stdout)["checks"]}
    assert as_json.returncode == text.returncode
    return as_json.returncode, checks, text.stdout


@pytest.mark.parametrize("tls_broker", [10], indirect=True)
def test_doctor_finds_each_problem_and_says_the_fix(tmp_path: Path, tls_broker: tuple[Broker, int, Path]) -> None:
    broker, tls_port, cert = tls_broker
    chirpstack_toml = tmp_path / "chirpstack.toml"
    chirpstack_toml.write_text('[integration]\nenabled = ["mqtt"]\n[integration.mqtt]\njson = true\n')
    with socat_pair(tmp_path) as (tty, _):
        extra = f"""
[upstream.tls]
ca_file = "{cert}"

[modbus]
buses = [{{ name = "present", port = "{tty}" }}, {{ name = "unplugged", port = "{tmp_path / 'ttyUSB9'}" }}]

[chirpstack]
port = {broker.port}
"""
        config = site(tmp_path, broker_port=tls_port, extra=extra)
        code, checks, text = doctor(config, "--chirpstack-config", str(chirpstack_toml))
    assert code == 1
    assert checks["config"]["status"] == "ok"
    assert checks["agent"]["status"] == "warn"
    assert checks["serial present"]["status"] == "ok"
    assert checks["serial unplugged"]["status"] == "fail" and "by-id" in checks["serial unplugged"]["fix"]
    assert checks["upstream broker"]["status"] == "ok"
    assert checks["upstream TLS"]["status"] == "fail" and "expires in" in checks["upstream TLS"]["detail"]
    assert checks["chirpstack broker"]["status"] == "ok"
    assert checks["chirpstack qos"]["status"] == "fail" and "qos=1" in checks["chirpstack qos"]["fix"]
    assert checks["database"]["status"] == "ok" and checks["disk"]["status"] == "ok"
    assert "[FAIL] serial unplugged" in text and "fix:" in text


@pytest.mark.parametrize("tls_broker", [400], indirect=True)
def test_doctor_passes_a_healthy_site(tmp_path: Path, tls_broker: tuple[Broker, int, Path]) -> None:
    _, tls_port, cert = tls_broker
    config = site(tmp_path, broker_port=tls_port, extra=f'[upstream.tls]\nca_file = "{cert}"\n')
    code, checks, _ = doctor(config)
    assert checks["upstream TLS"]["status"] == "ok", checks["upstream TLS"]
    assert "days" in checks["upstream TLS"]["detail"]
    failed = [c for c in checks.values() if c["status"] == "fail"]
    assert code == (1 if failed else 0), failed
    assert [c["name"] for c in failed] in ([], ["clock"]), "only the machine's own NTP state may fail here"


def test_doctor_reports_an_unreachable_broker_and_a_broken_config(tmp_path: Path) -> None:
    config = site(tmp_path, broker_port=free_port())
    code, checks, _ = doctor(config)
    assert code == 1 and checks["upstream broker"]["status"] == "fail"
    assert "cannot reach" in checks["upstream broker"]["detail"]
    config.write_text(config.read_text().replace('gateway_id = "gw-test"', 'gateway_id = "GW TEST"'))
    code, checks, _ = doctor(config)
    assert code == 1 and list(checks) == ["config"] and checks["config"]["status"] == "fail"


def test_doctor_finds_a_damaged_database(tmp_path: Path) -> None:
    config = site(tmp_path, broker_port=free_port())
    (tmp_path / "store.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    _, checks, _ = doctor(config)
    assert checks["database"]["status"] == "fail"
    assert "restart the agent" in checks["database"]["fix"] or "permissions" in checks["database"]["fix"]


def test_doctor_names_each_unusable_secret_file(tmp_path: Path) -> None:
    """The files the agent would refuse or fail to open, judged as the agent judges them, each named."""
    secret = tmp_path / "broker.secret"
    secret.write_text("gw-test\nnot-to-be-printed\n")
    secret.chmod(0o644)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    extra = f"""
[upstream.tls]
ca_file = "{ca}"
cert_file = "{tmp_path / 'gateway.crt'}"
key_file = "{tmp_path / 'gateway.key'}"

[chirpstack]
port = {free_port()}
grpc_address = "127.0.0.1:8080"
api_token_file = "{tmp_path / 'chirpstack.token'}"
"""
    config = site(tmp_path, broker_port=free_port(), extra=extra)
    config.write_text(config.read_text().replace('topic_prefix = "fute"\n',
                                                 f'topic_prefix = "fute"\ncredentials_file = "{secret}"\n'))
    code, checks, text = doctor(config)
    assert code == 1
    found = checks["secret files"]
    assert found["status"] == "fail", found
    for named in ("gateway.crt", "gateway.key", "readable by other users", "chirpstack.token"):
        assert named in found["detail"], (named, found["detail"])
    assert "ca.pem" not in found["detail"], "a file that opens is not reported"
    assert "chmod 640" in found["fix"]
    assert "not-to-be-printed" not in text + json.dumps(checks)

    secret.chmod(0o600)
    for name in ("gateway.crt", "gateway.key", "chirpstack.token"):
        (tmp_path / name).write_text("x")
    _, checks, _ = doctor(config)
    assert (checks["secret files"]["status"], checks["secret files"]["detail"]) == ("ok", "5 readable")
