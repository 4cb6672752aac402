"""End to end with the real agent process and a real Mosquitto: nothing committed is lost, order and sequence hold."""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path

from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.mqtt import Capture
from tests.support.site import write_site


def delivered(capture: Capture) -> list[dict[str, object]]:
    """Every record the hypervisor received, in arrival order (duplicates included)."""
    out: list[dict[str, object]] = []
    for message in capture.snapshot("/readings") + capture.snapshot("/events"):
        out.extend(json.loads(message.payload)["records"])
    return out


def committed_seqs(db: Path) -> set[int]:
    return {int(row[0]) for row in store_rows(db, "SELECT seq FROM records")}  # type: ignore[call-overload]


def all_delivered(capture: Capture, db: Path) -> bool:
    seqs = committed_seqs(db)
    return bool(seqs) and seqs <= {int(r["seq"]) for r in delivered(capture)}  # type: ignore[call-overload]


def unsent_seqs(db: Path) -> set[int]:
    return {int(row[0]) for row in store_rows(db, "SELECT seq FROM outbox")}  # type: ignore[call-overload]


def assert_ordered_without_gaps(capture: Capture, db: Path) -> None:
    """Every committed record was delivered, or is still in the outbox for the next start; order per device holds."""
    records = delivered(capture)
    seqs = {int(r["seq"]) for r in records}  # type: ignore[call-overload]
    last = max(committed_seqs(db))
    waiting = unsent_seqs(db)
    covered = seqs | waiting
    assert covered == set(range(1, last + 1)), f"missing: {sorted(set(range(1, last + 1)) - covered)[:20]}"
    assert len(waiting) < 50, f"{len(waiting)} records left unsent at a clean stop"
    first_seen: dict[str, list[int]] = defaultdict(list)
    known: set[int] = set()
    for record in (r for r in records if "point" in r):
        seq = int(record["seq"])  # type: ignore[call-overload]
        if seq not in known:
            known.add(seq)
            first_seen[str(record["device"])].append(seq)
    for device, order in first_seen.items():
        assert order == sorted(order), f"{device}: readings arrived out of order"


def test_readings_survive_a_broker_outage_in_order_without_gaps(tmp_path: Path, broker: Broker) -> None:
    capture = Capture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    agent = AgentProcess(write_site(tmp_path, broker_port=broker.port)).start()
    db = tmp_path / "store.db"
    try:
        wait_until(lambda: len(delivered(capture)) > 50, what="first readings upstream")
        broker.stop()
        outage_start = max(committed_seqs(db))
        wait_until(lambda: max(committed_seqs(db)) > outage_start + 300, what="readings committed during outage")
        broker.start()
        wait_until(lambda: all_delivered(capture, db), timeout=30, what="backlog drained")
        agent.terminate()
        time.sleep(0.5)  # let the capture receive what the agent sent while stopping
        assert_ordered_without_gaps(capture, db)
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()


def test_kill_9_with_records_awaiting_puback_loses_nothing(tmp_path: Path, broker: Broker) -> None:
    """Commit locally, broker down (no PUBACK possible), kill -9: everything arrives after restart."""
    capture = Capture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    config = write_site(tmp_path, broker_port=broker.port)
    db = tmp_path / "store.db"
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: len(delivered(capture)) > 20, what="first readings upstream")
        broker.stop()
        before = max(committed_seqs(db))
        wait_until(lambda: max(committed_seqs(db)) > before + 200, what="commits while the broker is down")
        agent.kill()
        unsent = store_rows(db, "SELECT count(*) FROM outbox")[0][0]
        assert int(unsent) > 200  # type: ignore[call-overload]
        broker.start()
        agent = AgentProcess(config).start()
        wait_until(lambda: all_delivered(capture, db), timeout=30, what="everything delivered after restart")
        agent.terminate()
        assert_ordered_without_gaps(capture, db)
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()


def test_kill_9_at_random_moments_loses_nothing(tmp_path: Path, broker: Broker) -> None:
    capture = Capture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    config = write_site(tmp_path, broker_port=broker.port)
    db = tmp_path / "store.db"
    rng = random.Random(20261128)
    agent = AgentProcess(config).start()
    try:
        for _ in range(6):
            wait_until(lambda: db.exists() and len(committed_seqs(db)) > 0, what="agent committing")
            time.sleep(rng.uniform(0.3, 1.5))
            agent.kill()
            agent = AgentProcess(config).start()
        wait_until(lambda: all_delivered(capture, db), timeout=30, what="everything delivered")
        agent.terminate()
        time.sleep(0.5)
        seqs = {int(r["seq"]) for r in delivered(capture)} | unsent_seqs(db)  # type: ignore[call-overload]
        assert seqs == committed_seqs(db)
        assert seqs == set(range(1, max(seqs) + 1)), "a sequence gap"
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()


def test_last_will_marks_the_gateway_offline_after_a_crash(tmp_path: Path, broker: Broker) -> None:
    capture = Capture(broker.port, "fute/gw-test/status", client_id="status-watch")
    config = write_site(tmp_path, broker_port=broker.port, sync="keepalive = 5")
    agent = AgentProcess(config).start()
    try:
        capture.wait_for(lambda ms: [m for m in ms if json.loads(m.payload).get("online")])
        agent.kill()
        will = capture.wait_for(
            lambda ms: [m for m in ms if json.loads(m.payload).get("online") is False], timeout=20
        )[-1].json()
        assert will == {"v": 1, "gateway": "gw-test", "online": False, "reason": "connection lost"}
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()


def test_sigterm_stops_within_two_seconds_with_everything_committed(tmp_path: Path, broker: Broker) -> None:
    capture = Capture(broker.port, "fute/gw-test/status", client_id="status-watch")
    agent = AgentProcess(write_site(tmp_path, broker_port=broker.port)).start()
    db = tmp_path / "store.db"
    try:
        wait_until(lambda: any(json.loads(m.payload).get("online") for m in capture.snapshot()), what="online")
        wait_until(lambda: len(committed_seqs(db)) > 30, what="records committed")
        took = agent.terminate()
        assert took < 2.0, f"SIGTERM took {took:.2f} s"
        last = capture.wait_for(lambda ms: [m for m in ms if json.loads(m.payload).get("online") is False])[-1]
        body = json.loads(last.payload)
        assert body["reason"] == "stopped"
        assert body["last_seq"] == max(committed_seqs(db)), "the final status must count every committed record"
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()


def test_batches_fit_the_packet_size_an_mqtt5_broker_announces(tmp_path: Path) -> None:
    """Mosquitto drops an oversized publish after acknowledging it; over MQTT 5 it announces its limit in CONNACK
    and the agent keeps every batch under it, so nothing is acknowledged and lost."""
    broker = Broker(tmp_path, extra="max_packet_size 8000")
    config = write_site(tmp_path, broker_port=broker.port, extra="", sync="batch_max_bytes = 128000")
    config.write_text(config.read_text().replace('topic_prefix = "fute"', 'topic_prefix = "fute"\nprotocol = "5"'))
    db = tmp_path / "store.db"
    broker.start()
    capture = Capture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    broker.stop()  # the hypervisor's session is kept: it gets everything once the broker is back
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: db.exists() and len(committed_seqs(db)) > 300, what="a backlog while no broker runs")
        broker.start()
        wait_until(lambda: all_delivered(capture, db), timeout=30, what="backlog delivered in small batches")
        sizes = [len(m.payload) for m in capture.snapshot("/readings")]
        assert max(sizes) <= 8000, f"a batch of {max(sizes)} bytes exceeds the broker's announced limit"
        assert len(sizes) > 3
    finally:
        capture.close()
        if agent.proc is not None:
            agent.kill()
        broker.stop()
