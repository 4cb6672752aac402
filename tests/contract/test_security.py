"""The link: mutual TLS with server verification against a real Mosquitto with an ACL; the gateway stays in its
subtree; secrets stay out of logs and status."""

from __future__ import annotations

import json
import os
import ssl
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.cli.helpers import cli, cli_json
from tests.contract.support import GATEWAY, PREFIX, Hypervisor, Pki, TlsClient, tls_site
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker


def test_agent_connects_with_mutual_tls_and_publishes_only_under_its_prefix(
        tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(tls_site(tmp_path, secure_broker, pki)).start()
    try:
        hypervisor.wait_for(lambda ms: {"readings", "events", "status", "inventory"}
                            <= {m.topic.rsplit("/", 1)[-1] for m in ms})
        assert hypervisor.ask("ping")["ok"] is True  # commands reach it, answers come back: both ACL directions
        topics = {m.topic for m in hypervisor.snapshot()}
        assert all(topic.startswith(f"{PREFIX}/{GATEWAY}/") for topic in topics), topics
    finally:
        agent.terminate()
        hypervisor.close()


def test_the_broker_refuses_a_publish_outside_the_gateway_subtree_mqtt5(secure_broker: Broker, pki: Pki) -> None:
    hypervisor = Hypervisor(secure_broker.port, pki)
    gateway = TlsClient(secure_broker.port, pki, pki.gateway, mqtt5=True)
    try:
        own = gateway.publish(f"{PREFIX}/{GATEWAY}/readings", b"{}")
        other = gateway.publish(f"{PREFIX}/gw-other/commands", b'{"forged": true}')
        outside = gateway.publish("elsewhere/x", b"{}")
        assert not own.is_failure
        assert other.is_failure and other.value == 0x87, f"expected 'Not authorized', got {other}"
        assert outside.is_failure and outside.value == 0x87
        hypervisor.wait_for(lambda ms: any(m.topic == f"{PREFIX}/{GATEWAY}/readings" for m in ms))
        assert not hypervisor.snapshot("gw-other")
    finally:
        gateway.close()
        hypervisor.close()


def test_a_publish_outside_the_subtree_never_reaches_a_subscriber_mqtt311(secure_broker: Broker, pki: Pki) -> None:
    hypervisor = Hypervisor(secure_broker.port, pki)
    gateway = TlsClient(secure_broker.port, pki, pki.gateway)
    try:
        gateway.publish(f"{PREFIX}/gw-other/commands", b'{"forged": true}')  # 3.1.1: PUBACK, then silently dropped
        gateway.publish(f"{PREFIX}/{GATEWAY}/status", b"{}")  # sent after it on the same connection
        hypervisor.wait_for(lambda ms: any(m.topic == f"{PREFIX}/{GATEWAY}/status" for m in ms))
        time.sleep(0.3)
        assert not hypervisor.snapshot("gw-other")
    finally:
        gateway.close()
        hypervisor.close()


def test_a_gateway_cannot_read_another_gateways_commands(secure_broker: Broker, pki: Pki) -> None:
    gateway = TlsClient(secure_broker.port, pki, pki.gateway, subscribe=f"{PREFIX}/gw-other/#")
    hypervisor = Hypervisor(secure_broker.port, pki)
    try:
        hypervisor.publish(f"{PREFIX}/gw-other/commands", b"{}")
        hypervisor.publish(f"{PREFIX}/{GATEWAY}/commands", b"{}")
        time.sleep(0.5)
        assert gateway.snapshot() == []
    finally:
        gateway.close()
        hypervisor.close()


def _connect_rc(port: int, pki: Pki, cert: tuple[Path, Path] | None, *, verify_ca: Path) -> str:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.tls_set(ca_certs=str(verify_ca), certfile=str(cert[0]) if cert else None,
                   keyfile=str(cert[1]) if cert else None, cert_reqs=ssl.CERT_REQUIRED)
    try:
        client.connect("127.0.0.1", port, keepalive=5)
        for _ in range(20):
            if client.loop(0.1) != mqtt.MQTT_ERR_SUCCESS:
                return "closed"
            if client.is_connected():
                return "connected"
        return "no answer"
    except (ssl.SSLError, OSError) as exc:
        return f"refused: {type(exc).__name__}"
    finally:
        client.disconnect()


def test_without_a_valid_client_certificate_there_is_no_connection(secure_broker: Broker, pki: Pki) -> None:
    assert _connect_rc(secure_broker.port, pki, (pki.hypervisor.cert, pki.hypervisor.key), verify_ca=pki.ca) \
        == "connected"
    assert _connect_rc(secure_broker.port, pki, None, verify_ca=pki.ca) != "connected"
    assert _connect_rc(secure_broker.port, pki, (pki.intruder.cert, pki.intruder.key), verify_ca=pki.ca) \
        != "connected"


def test_the_agent_verifies_the_broker_certificate(tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    """Server verification is on by default: trusting another CA, the agent never connects."""
    other_ca = pki.intruder.cert  # any certificate that did not sign the broker's
    config = tls_site(tmp_path, secure_broker, pki)
    config.write_text(config.read_text().replace(f'ca_file = "{pki.ca}"', f'ca_file = "{other_ca}"'))
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: "upstream_down" in (tmp_path / "agent.log").read_text(), what="a refused TLS handshake")
        time.sleep(1.0)
        assert not hypervisor.snapshot(f"{GATEWAY}/status")
        assert "CERTIFICATE_VERIFY_FAILED" in (tmp_path / "agent.log").read_text()
    finally:
        agent.terminate()
        hypervisor.close()


@pytest.mark.parametrize(("host", "reached"), [("localhost", True), ("127.1", False)])
def test_the_agent_checks_the_broker_name_against_its_certificate(
        tmp_path: Path, secure_broker: Broker, pki: Pki, host: str, reached: bool) -> None:
    """The broker's name goes to OpenSSL as the agent resolves it (ASCII, as bytes: edge_agent/mqtt_client.py):
    ``localhost`` is in the broker's certificate; ``127.1`` reaches the same address but is not (nor an address
    OpenSSL reads), so the handshake fails on the name."""
    config = tls_site(tmp_path, secure_broker, pki)
    config.write_text(config.read_text().replace('host = "127.0.0.1"', f'host = "{host}"', 1))
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    log = tmp_path / "agent.log"
    try:
        if reached:
            hypervisor.wait_for(lambda ms: any(m.topic == f"{PREFIX}/{GATEWAY}/status" for m in ms))
            assert f"{host}:{secure_broker.port}" in log.read_text()
        else:
            wait_until(lambda: "upstream_down" in log.read_text(), what="a refused TLS handshake")
            time.sleep(1.0)
            assert not hypervisor.snapshot(f"{GATEWAY}/status")
            assert "Hostname mismatch" in log.read_text()
    finally:
        agent.terminate()
        hypervisor.close()


def test_a_world_readable_secret_file_is_refused_but_the_gateway_keeps_running_until_it_is_fixed(
        tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    """The secret is not used while others can read it, and the log says how to fix it; meanwhile the agent runs
    (its store and lights do not depend on the uplink) and raises an alarm; once fixed, the link comes up by itself
    and the alarm reaches the hypervisor."""
    secret = tmp_path / "broker.secret"
    secret.write_text("gw-test\nhunter2-very-secret\n")
    os.chmod(secret, 0o644)
    config = tls_site(tmp_path, secure_broker, pki, upstream=f'credentials_file = "{secret}"')
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        log = tmp_path / "agent.log"
        wait_until(lambda: log.exists() and "readable by other users" in log.read_text(), what="the refusal logged")
        assert "chmod 600" in log.read_text()
        status = cli_json(config, "status")
        assert status["agent"]["running"] is True and status["upstream"]["connected"] is False
        assert "readable by other users" in status["upstream"]["problem"]
        assert "readable by other users" in cli(config, "status").stdout, "the technician sees why"
        assert not hypervisor.snapshot(), "nothing may be sent with a secret others can read"

        os.chmod(secret, 0o600)
        hypervisor.wait_for(lambda ms: any(m.json().get("online") for m in ms if m.topic.endswith("/status")))
        hypervisor.wait_for(lambda ms: any(r.get("event") == "upstream_unusable"
                                           for m in ms if m.topic.endswith("/events") for r in m.json()["records"]))
        assert cli_json(config, "status")["upstream"]["problem"] is None
    finally:
        agent.terminate()
        hypervisor.close()
    everything = b"".join(m.payload for m in hypervisor.snapshot()) + (tmp_path / "agent.log").read_bytes()
    assert b"hunter2-very-secret" not in everything


def test_missing_tls_files_keep_the_link_down_with_the_file_named_not_the_agent(
        tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    """An installer sets the gateway up before its certificate arrives: the agent runs, says which file is missing,
    and connects once it is in place."""
    config = tls_site(tmp_path, secure_broker, pki)
    text = config.read_text()
    cert = str(pki.gateway.cert)
    late = tmp_path / "late-gateway.crt"
    config.write_text(text.replace(cert, str(late)))
    agent = AgentProcess(config).start()
    hypervisor = Hypervisor(secure_broker.port, pki)
    try:
        wait_until((tmp_path / "control.sock").exists, what="control socket")
        wait_until(lambda: str(late) in (cli_json(config, "status")["upstream"]["problem"] or ""),
                   what="the missing file named in status")
        late.write_bytes(pki.gateway.cert.read_bytes())
        hypervisor.wait_for(lambda ms: any(m.json().get("online") for m in ms if m.topic.endswith("/status")))
    finally:
        agent.terminate()
        hypervisor.close()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_secrets_never_appear_in_logs_or_status(
        tmp_path: Path, secure_broker: Broker, pki: Pki, protocol: str) -> None:
    secret = tmp_path / "broker.secret"
    secret.write_text("gw-test\nhunter2-very-secret\n")
    os.chmod(secret, 0o600)
    config = tls_site(tmp_path, secure_broker, pki,
                      upstream=f'credentials_file = "{secret}"\nprotocol = "{protocol}"')
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: any(m.json().get("online") for m in ms if m.topic.endswith("/status")))
        assert hypervisor.ask("ping")["ok"]
    finally:
        agent.terminate()
        hypervisor.close()
    everything = b"".join(m.payload for m in hypervisor.snapshot()) + (tmp_path / "agent.log").read_bytes()
    assert b"hunter2-very-secret" not in everything
    key_text = pki.gateway.key.read_bytes().split(b"\n")[1]
    assert key_text not in everything
    status = [json.loads(m.payload) for m in hypervisor.snapshot("/status")]
    assert status and all("password" not in json.dumps(s) for s in status)
