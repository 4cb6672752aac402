"""Each command against a running agent (real Mosquitto, real pymodbus server), through its control socket."""

from __future__ import annotations

import base64
import csv
import io
import json
import socket
import stat
import time
from pathlib import Path

from tests.cli.conftest import Running
from tests.cli.helpers import LAMP_APP, LAMP_EUI, assert_fits, assert_plain_failure, cli, cli_json, count
from tests.lorawan.support import uplink_event
from tests.support.agent_proc import wait_until
from tests.support.mqtt import Capture, publish


def test_status_shows_agent_link_backlog_and_each_device(running: Running) -> None:
    wait_until(lambda: cli_json(running.config, "status")["upstream"]["connected"], what="upstream connected")
    result = cli(running.config, "status")
    assert result.returncode == 0, result.stderr
    assert_fits(result.stdout)
    text = result.stdout
    assert "running for" in text and "connected to 127.0.0.1" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.split()[:1] in
            (["meter"], ["cabinet"], ["sim-0"])}
    assert set(rows) == {"meter", "cabinet", "sim-0"}
    assert rows["meter"][1:3] == ["modbus", "online"]
    assert "voltage=" in text


def test_status_json_parses_with_live_values(running: Running) -> None:
    status = cli_json(running.config, "status")
    assert status["agent"]["running"] is True
    assert status["agent"]["pid"] == running.agent.proc.pid  # type: ignore[union-attr]
    assert status["outbox"]["last_seq"] > 0
    assert status["disk"]["free_bytes"] > 0
    devices = {d["name"]: d for d in status["devices"]}
    assert devices["meter"]["online"] is True
    assert 200 < devices["meter"]["values"]["voltage"]["value"] < 260
    assert time.time() - devices["cabinet"]["last_seen"] < 10


def test_devices_and_points_list_the_inventory(running: Running) -> None:
    devices = {d["name"]: d for d in cli_json(running.config, "devices")}
    assert devices["meter"]["model"] == "eastron_sdm120"
    assert devices["cabinet"]["address"].endswith("unit 2")
    points = cli_json(running.config, "points", "--device", "cabinet")
    level = next(p for p in points if p["point"] == "circuit1_level")
    assert level["writable"] is True and level["where"] == "holding 0" and level["last"] is not None
    text = cli(running.config, "points").stdout
    assert_fits(text)
    assert "voltage" in text and "circuit4_on" in text and "p1" in text


def test_read_polls_the_device_now(running: Running) -> None:
    result = cli_json(running.config, "read", "meter")
    assert result["live"] is True
    points = {r["point"]: r for r in result["readings"]}
    assert time.time() - points["voltage"]["ts"] < 5
    text = cli(running.config, "read", "meter").stdout
    assert "voltage" in text and "good" in text


def test_write_asks_confirms_and_reads_back(running: Running) -> None:
    refused = cli(running.config, "write", "cabinet", "circuit2_level", "37", stdin="n\n")
    assert_plain_failure(refused, "nothing written")
    assert "Write 37 to circuit2_level of cabinet?" in refused.stdout
    before = {r["point"]: r["value"] for r in cli_json(running.config, "read", "cabinet")["readings"]}
    assert before["circuit2_level"] != 37

    done = cli(running.config, "write", "cabinet", "circuit2_level", "37", stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert "read back 37" in done.stdout
    after = {r["point"]: r["value"] for r in cli_json(running.config, "read", "cabinet")["readings"]}
    assert after["circuit2_level"] == 37


def test_a_bad_write_is_refused_in_plain_words(running: Running) -> None:
    assert_plain_failure(cli(running.config, "write", "cabinet", "circuit1_level", "150", "--yes"),
                         "above the maximum 100")
    assert_plain_failure(cli(running.config, "write", "meter", "voltage", "1", "--yes"), "read-only")
    assert_plain_failure(cli(running.config, "read", "nosuch"), "no device named 'nosuch'")


def test_tail_streams_committed_records_of_one_device(running: Running) -> None:
    result = cli(running.config, "tail", "--device", "meter", "--count", "20", "--json")
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(items) == 20
    assert {i["device"] for i in items} == {"meter"}
    assert all(time.time() - i["ts"] < 10 for i in items)
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs)
    text = cli(running.config, "tail", "--count", "10").stdout
    assert_fits(text)
    assert len(text.splitlines()) == 10


def test_queue_reports_the_outbox(running: Running) -> None:
    result = cli_json(running.config, "queue")
    assert result["outbox"]["last_seq"] > 0
    assert result["upstream"]["records_acked"] > 0
    text = cli(running.config, "queue").stdout
    assert "readings waiting" in text and "connected" in text


def test_sync_now_drains_a_backlog_built_during_an_outage(running: Running) -> None:
    running.broker.stop()
    try:
        wait_until(lambda: cli_json(running.config, "queue")["outbox"]["backlog"] > 50, what="backlog")
        stuck = cli(running.config, "sync", "--now", "--timeout", "1.5")
        assert_plain_failure(stuck, "not connected")
    finally:
        running.broker.start()
    result = cli(running.config, "sync", "--now", "--json", "--timeout", "30")
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["done"] is True and final["start"] >= 0
    assert count(running.db, "SELECT count(*) FROM outbox WHERE ts < ?", (time.time() - 3,)) == 0


def test_export_csv_and_jsonl_of_one_device(running: Running) -> None:
    now = time.time()
    since, until = str(now - 3600), str(now + 1)
    expected = count(running.db, "SELECT count(*) FROM records WHERE kind=0 AND device='meter'"
                     " AND ts>=? AND ts<?", (float(since), float(until)))
    result = cli(running.config, "export", "--from", since, "--to", until, "--device", "meter", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) >= expected > 0
    assert {r["device"] for r in rows} == {"meter"}
    assert rows[0]["time"].endswith("Z") and float(rows[0]["value"]) > 0
    lines = cli(running.config, "export", "--from", since, "--to", until, "--format", "jsonl", "--events").stdout
    kinds = {json.loads(line)["type"] for line in lines.splitlines()}
    assert kinds == {"reading", "event"}


def test_the_socket_is_private_and_speaks_versioned_json(running: Running) -> None:
    path = running.directory / "control.sock"
    assert stat.S_IMODE(path.stat().st_mode) == 0o660

    def ask(raw: bytes) -> dict[str, object]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(raw)
            reply: dict[str, object] = json.loads(sock.makefile("rb").readline())
            return reply

    assert ask(b'{"v":1,"op":"queue"}\n')["ok"] is True
    assert ask(b"not json\n") == {"ok": False, "error": ask(b"not json\n")["error"]}
    assert "version 2 is not supported" in str(ask(b'{"v":2,"op":"status"}\n')["error"])
    assert "unknown operation 'reboot'" in str(ask(b'{"v":1,"op":"reboot"}\n')["error"])


def test_modbus_passthrough_reads_raw_registers_on_the_agents_own_line(running: Running) -> None:
    """What ``edge-agent modbus read`` uses while the agent holds the port: the agent's line, not a second client."""
    from edge_agent.control.client import modbus_read_via_agent

    path = running.directory / "control.sock"
    raw = modbus_read_via_agent(path, "cabinet", table="holding", address=2, count=3)
    assert raw is not None and raw["unit"] == 2
    assert len(raw["values"]) == 3 and all(0 <= v <= 100 for v in raw["values"])
    decoded = modbus_read_via_agent(path, "meter")
    assert decoded is not None and "voltage" in {r["point"] for r in decoded["readings"]}
    assert modbus_read_via_agent(running.directory / "absent.sock", "meter") is None


def test_a_lorawan_device_heard_then_written_by_downlink(running: Running) -> None:
    """An uplink published as ChirpStack does shows in status and points; a write becomes a downlink command."""
    topic = f"application/{LAMP_APP}/device/{LAMP_EUI}"
    capture = Capture(running.broker.port, f"{topic}/command/down", client_id="chirpstack-sim")
    try:
        publish(running.broker.port, f"{topic}/event/up",
                json.dumps(uplink_event(LAMP_EUI, "0374b208", f_cnt=1, f_port=85, app=LAMP_APP)).encode())
        wait_until(lambda: "voltage" in cli_json(running.config, "status")["devices"][-1]["values"],
                   what="the lamp's uplink in status")
        lamp = next(d for d in cli_json(running.config, "status")["devices"] if d["name"] == "lamp")
        assert lamp["driver"] == "lorawan" and lamp["online"] is True
        assert lamp["values"]["voltage"]["value"] == 222.6
        heard = {p["point"]: p for p in cli_json(running.config, "points", "--device", "lamp")}
        assert heard["voltage"]["where"] == "uplink" and heard["voltage"]["last"]["value"] == 222.6
        read = cli_json(running.config, "read", "lamp")
        assert read["live"] is False and "wakes up" in read["note"]

        result = cli(running.config, "write", "lamp", "switch", "on", "--yes")
        assert result.returncode == 0, result.stderr
        assert "downlink" in result.stdout and "lamp: switch=on" in result.stdout
        message = capture.wait_for(lambda messages: messages)[0].json()
        assert message["devEui"] == LAMP_EUI and message["fPort"] == 85
        assert base64.b64decode(message["data"]).hex() == "08ffff"
    finally:
        capture.close()


def test_modbus_read_by_name_goes_through_the_running_agent(running: Running, tmp_path: Path) -> None:
    """``edge-agent modbus read NAME`` asks the agent, which owns the line: a copy of the config whose Modbus
    address is wrong still reads, because the CLI never opens a connection of its own while the agent runs."""
    import re

    text = re.sub(r"(?m)^port = (\d+)$", lambda m: "port = 1" if int(m.group(1)) > 10000 else m.group(0),
                  running.config.read_text())
    wrong = tmp_path / "wrong-address.toml"
    wrong.write_text(text)
    result = cli(wrong, "modbus", "read", "meter", "--json")
    assert result.returncode == 0, result.stderr
    assert "voltage" in {row["point"] for row in json.loads(result.stdout)}
