"""``edge-agent lighting``: a technician holds a group through the running agent (real Mosquitto, real pymodbus
cabinet); the hold survives a kill -9 and is shown with the agent stopped; resume gives the lamps back to the program.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import modbus_sim  # noqa: F401 - the module's real pymodbus server
from tests.cli.helpers import LIGHTING, assert_fits, assert_plain_failure, cli, cli_json, site
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker


@pytest.fixture
def lit(tmp_path: Path, modbus_sim: int) -> Iterator[tuple[Path, Broker]]:  # noqa: F811
    broker = Broker(tmp_path).start()
    try:
        yield site(tmp_path, broker_port=broker.port, sim_port=modbus_sim, extra=LIGHTING), broker
    finally:
        broker.stop()


def started(config: Path) -> AgentProcess:
    agent = AgentProcess(config).start()
    wait_until((config.parent / "control.sock").exists, what="control socket")
    return agent


def centre(config: Path) -> dict[str, Any]:
    status = cli_json(config, "lighting", "status")
    [group] = status["groups"]
    assert isinstance(group, dict)
    return group


def cabinet_level(config: Path) -> int:
    readings = {r["point"]: r["value"] for r in cli_json(config, "read", "cabinet")["readings"]}
    return int(readings["circuit1_level"])


def test_hold_survives_a_kill_and_resume_gives_the_lamps_back_to_the_program(lit: tuple[Path, Broker]) -> None:
    config, _ = lit
    agent = started(config)
    try:
        wait_until(lambda: centre(config)["level"] == 60, what="the program's level")
        wait_until(lambda: cabinet_level(config) == 60, what="the cabinet at the program's level")

        held = cli(config, "lighting", "hold", "centre", "15", "--for", "2h", "--yes")
        assert held.returncode == 0, held.stderr
        assert_fits(held.stdout)
        assert "15 %" in held.stdout and "technician" in held.stdout
        wait_until(lambda: cabinet_level(config) == 15, what="the cabinet held at 15 %")

        agent.kill()  # power cut
        stopped = cli(config, "lighting", "status")
        assert stopped.returncode == 0, stopped.stderr
        assert "not running" in stopped.stdout
        assert_fits(stopped.stdout)
        offline = centre(config)
        assert offline["override"]["level"] == 15 and offline["override"]["source"] == "technician"

        agent = started(config)
        wait_until(lambda: centre(config)["source"] == "override", what="the hold resumed after the restart")
        group = centre(config)
        assert group["level"] == 15
        assert 6000 < group["override"]["remaining_s"] <= 7200
        assert cabinet_level(config) == 15

        resumed = cli(config, "lighting", "resume", "centre")
        assert resumed.returncode == 0, resumed.stderr
        assert "program" in resumed.stdout
        wait_until(lambda: cabinet_level(config) == 60, what="the program's level again")
        assert centre(config)["override"] is None
    finally:
        agent.terminate()


def test_bad_holds_are_refused_in_plain_words(lit: tuple[Path, Broker]) -> None:
    config, _ = lit
    assert_plain_failure(cli(config, "lighting", "hold", "centre", "50", "--for", "soon", "--yes"),
                         "'soon' is not a duration")
    assert_plain_failure(cli(config, "lighting", "hold", "centre", "50", "--for", "30d", "--yes"), "out of range")
    assert_plain_failure(cli(config, "lighting", "hold", "centre", "50", "--for", "1h", "--yes"),
                         "the agent is not running")
    agent = started(config)
    try:
        assert_plain_failure(cli(config, "lighting", "hold", "square", "50", "--for", "1h", "--yes"),
                             "no lighting group 'square'; groups: centre")
        refused = cli(config, "lighting", "hold", "centre", "50", "--for", "1h", stdin="n\n")
        assert refused.returncode == 1 and "nothing changed" in refused.stderr
        assert centre(config)["override"] is None
    finally:
        agent.terminate()
