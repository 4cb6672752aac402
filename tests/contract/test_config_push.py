"""Pushing a site config: validated, applied atomically through a restart, rolled back when the agent is not
healthy with it, answered exactly once."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from pathlib import Path

from tests.contract.support import Hypervisor, Pki, Schemas, tls_broker, tls_site
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.ports import free_port


def onlines(hypervisor: Hypervisor) -> int:
    return len([m for m in hypervisor.snapshot("/status") if m.json().get("online")])


def test_config_push_applied_then_a_breaking_one_rolled_back(tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    schemas = Schemas()
    # This site lets a push move its upstream link (kept only once confirmed over the new link): the breaking
    # pushes below point it at a broker that is not there.
    config = tls_site(tmp_path, secure_broker, pki, commands="allow_upstream_change = true")
    original = config.read_text()
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: onlines(hypervisor) >= 1)
        pid = agent.proc.pid if agent.proc else None

        # Refused before anything is touched: invalid, or moving the gateway out of its subtree.
        bad = hypervisor.ask("config_push", {"config": original.replace("[store]", "[stor]")})
        assert bad["error"]["code"] == "config_invalid" and "stor" in bad["error"]["message"]
        moved = hypervisor.ask("config_push", {"config": original.replace('"gw-test"', '"gw-other"')})
        assert moved["error"]["code"] == "bad_field"
        elsewhere = hypervisor.ask("config_push", {"config": original.replace("store.db", "../../elsewhere.db")})
        assert elsewhere["error"] == {"code": "bad_field", "message": "a pushed config cannot change store.path",
                                      "field": "args.config"}
        assert config.read_text() == original

        # A good config: the agent restarts on it (same process, re-executed) and answers once, when healthy.
        good = original.replace("reconnect_max = 1.0", "reconnect_max = 2.0")
        request = hypervisor.send("config_push", {"config": good})
        answer = hypervisor.answer(request, timeout=30, resend_every=10)
        schemas.check("commandResponse", answer)
        assert answer["ok"] is True, answer
        assert answer["result"] == {"config_sha256": hashlib.sha256(good.encode()).hexdigest(), "applied": True}
        assert config.read_text() == good
        assert not config.with_name("site.toml.trial").exists()
        assert hypervisor.ask("ping")["result"]["config_sha256"] == answer["result"]["config_sha256"]
        assert agent.proc is not None and agent.proc.pid == pid and agent.returncode is None

        # A config that breaks the agent (its broker unreachable): rolled back automatically, answered once.
        before = onlines(hypervisor)
        breaking = good.replace(f"port = {secure_broker.port}", f"port = {free_port()}")
        request = hypervisor.send("config_push", {"config": breaking})
        answer = hypervisor.answer(request, timeout=40, resend_every=15)
        schemas.check("commandResponse", answer)
        assert answer["ok"] is False and answer["error"]["code"] == "rolled_back", answer
        assert "not healthy within 4 s" in answer["error"]["message"]
        assert config.read_text() == good, "the previous config is back"
        assert onlines(hypervisor) >= before + 1
        assert hypervisor.ask("ping")["result"]["config_sha256"] == hashlib.sha256(good.encode()).hexdigest()

        # A credentials file that does not exist: the agent runs on, but its link cannot come up: rolled back.
        no_secret = good.replace('topic_prefix = "fute"',
                                 f'topic_prefix = "fute"\ncredentials_file = "{tmp_path / "nonexistent"}"')
        request = hypervisor.send("config_push", {"config": no_secret})
        answer = hypervisor.answer(request, timeout=40, resend_every=15)
        assert answer["error"]["code"] == "rolled_back" and "upstream not connected" in answer["error"]["message"]
        assert config.read_text() == good

        # A power cut while a pushed config is on trial: the next start puts the previous config back at once.
        request = hypervisor.send("config_push", {"config": breaking})  # its broker unreachable: a 4 s trial
        marker = config.with_name("site.toml.trial")
        wait_until(lambda: marker.exists() and json.loads(marker.read_text())["state"] == "trying",
                   what="the pushed config on trial")
        agent.kill()
        assert config.read_text() == breaking
        agent = AgentProcess(config).start()
        answer = hypervisor.answer(request, timeout=40, resend_every=15)
        assert answer["error"]["code"] == "rolled_back", answer
        assert "stopped while trying" in answer["error"]["message"], answer
        assert config.read_text() == good
        assert all(other == answer for other in hypervisor.answers(request)), "one answer per id"
        assert agent.returncode is None
    finally:
        agent.terminate()
        hypervisor.close()
    log = [json.loads(line) for line in (tmp_path / "agent.log").read_text().splitlines() if line.startswith("{")]
    assert [e["event"] for e in log if e["event"].startswith("config_trial")].count("config_trial_rolled_back") == 3


def test_sigterm_while_a_pushed_config_restarts_the_agent_stops_it(
        tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    """systemd stopping the service just as a config push restarts it: the agent must stop within 2 s, not
    re-execute itself and run on (it did: the signal was lost in the restart). The next start tries the push."""
    config = tls_site(tmp_path, secure_broker, pki)
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: any(m.json().get("online") for m in ms if m.topic.endswith("/status")))
        original = config.read_text()
        pushed = original.replace("reconnect_max = 1.0", "reconnect_max = 2.0")
        request = hypervisor.send("config_push", {"config": pushed})
        marker = config.with_name("site.toml.trial")
        wait_until(marker.exists, what="the push on its way", interval=0.001)
        assert agent.terminate(timeout=10) < 2.0
        state = json.loads(marker.read_text())["state"]
        assert state in {"pending", "trying"}

        agent = AgentProcess(config).start()
        answer = hypervisor.answer(request, timeout=30, resend_every=10)
        if state == "pending":  # stopped before trying it: the next start tries it
            assert answer["ok"] is True, answer
            assert config.read_text() == pushed
        else:  # stopped while trying it: the next start cannot tell a stop from a crash, and rolls back
            assert answer["error"]["code"] == "rolled_back", answer
            assert config.read_text() == original
        assert not marker.exists()
    finally:
        if agent.proc is not None:
            agent.terminate()
        hypervisor.close()


class Listener:
    """A TCP port that takes connections and keeps what it is sent (where a stolen link would go)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.received = b""
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(1.0)
            with contextlib.suppress(OSError), conn:
                self.received += conn.recv(65536)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def test_a_push_cannot_move_the_upstream_link_nor_name_a_file_outside_the_config_directory(
        tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    """By default a pushed config cannot point the gateway at another broker, TLS setting or credentials file
    (the password would go out to whoever listens there), nor make it read a file outside its directory."""
    config = tls_site(tmp_path, secure_broker, pki)
    original = config.read_text()
    secret = tmp_path / "secret"
    secret.write_text("gw-test\nS3cret-Pa55\n")
    secret.chmod(0o600)
    listener = Listener()
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: onlines(hypervisor) >= 1)
        stolen = original.replace(f"port = {secure_broker.port}", f"port = {listener.port}").replace(
            'topic_prefix = "fute"', f'topic_prefix = "fute"\ncredentials_file = "{secret}"')
        answer = hypervisor.ask("config_push", {"config": stolen})
        assert answer["error"]["code"] == "bad_field", answer
        assert "upstream.port" in answer["error"]["message"]
        assert "allow_upstream_change" in answer["error"]["message"]
        passwd = original.replace(f'ca_file = "{pki.ca}"', 'ca_file = "../../../../etc/passwd"')
        assert hypervisor.ask("config_push", {"config": passwd})["error"]["code"] == "bad_field"
        with_credentials = original.replace('topic_prefix = "fute"',
                                            f'topic_prefix = "fute"\ncredentials_file = "{secret}"')
        assert "upstream.credentials_file" in hypervisor.ask(
            "config_push", {"config": with_credentials})["error"]["message"]
        token_elsewhere = original + (f'\n[chirpstack]\ngrpc_address = "127.0.0.1:{listener.port}"\n'
                                      f'api_token_file = "{secret}"\n')
        refused = hypervisor.ask("config_push", {"config": token_elsewhere})
        assert "chirpstack.grpc_address" in refused["error"]["message"], refused
        time.sleep(1.0)
        assert config.read_text() == original and not config.with_name("site.toml.trial").exists()
        assert listener.connections == 0 and b"S3cret" not in listener.received
        assert hypervisor.ask("ping")["result"]["config_sha256"] == hashlib.sha256(original.encode()).hexdigest()
    finally:
        agent.terminate()
        hypervisor.close()
        listener.close()


def test_a_moved_link_is_kept_only_once_the_hypervisor_confirms_over_it(
        tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    """Where the site allows it, a push may move the gateway to another broker: the trial passes only when the
    hypervisor confirms over the new link (config_confirm); unconfirmed, the previous config comes back."""
    config = tls_site(tmp_path, secure_broker, pki, commands="allow_upstream_change = true")
    original = config.read_text()
    (tmp_path / "other").mkdir()
    other = tls_broker(tmp_path / "other", pki)
    hypervisor = Hypervisor(secure_broker.port, pki)
    over_there = Hypervisor(other.port, pki)
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: onlines(hypervisor) >= 1)
        outside = original.replace(f'ca_file = "{pki.ca}"', 'ca_file = "../../../../etc/passwd"')
        refused = hypervisor.ask("config_push", {"config": outside})
        assert refused["error"]["code"] == "bad_field" and "outside" in refused["error"]["message"], refused
        nothing = hypervisor.ask("config_confirm", {"request": "nothing", "config_sha256": "0" * 64})
        assert nothing["error"]["code"] == "bad_field", nothing

        moved = original.replace(f"port = {secure_broker.port}", f"port = {other.port}")
        request = hypervisor.send("config_push", {"config": moved})
        over_there.wait_for(lambda ms: onlines(over_there) >= 1, timeout=20)  # there, but nobody confirms
        answer = hypervisor.answer(request, timeout=40, resend_every=15)
        assert answer["error"]["code"] == "rolled_back" and "config_confirm" in answer["error"]["message"], answer
        assert config.read_text() == original

        sha = hashlib.sha256(moved.encode()).hexdigest()
        request = hypervisor.send("config_push", {"config": moved})
        seen = onlines(over_there)
        over_there.wait_for(lambda ms: onlines(over_there) > seen, timeout=20)
        confirmed = over_there.ask("config_confirm", {"request": request, "config_sha256": sha})
        assert confirmed["ok"] is True and confirmed["result"]["confirmed"] is True, confirmed
        answer = over_there.answer(request, timeout=20, resend_every=60)
        assert answer["ok"] is True and answer["result"] == {"config_sha256": sha, "applied": True}, answer
        assert config.read_text() == moved and not config.with_name("site.toml.trial").exists()
    finally:
        agent.terminate()
        hypervisor.close()
        over_there.close()
        other.stop()
