"""Pushing a site config: validated, applied atomically through a restart, rolled back when the agent is not
healthy with it, answered exactly once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.contract.support import Hypervisor, Pki, Schemas, tls_site
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.ports import free_port


def onlines(hypervisor: Hypervisor) -> int:
    return len([m for m in hypervisor.snapshot("/status") if m.json().get("online")])


def test_config_push_applied_then_a_breaking_one_rolled_back(tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    schemas = Schemas()
    config = tls_site(tmp_path, secure_broker, pki)
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
        no_secret = good.replace('topic_prefix = "fute"', 'topic_prefix = "fute"\ncredentials_file = "/nonexistent"')
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
