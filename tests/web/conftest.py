"""One real site for the module: the agent with its simulated devices, and the page as its own process, driven
by a real headless Chromium. Screenshots go under the test's tmp dir and are copied to $EDGE_AGENT_SHOTS (or
/tmp/edge-agent-web-shots), whose path the tests print."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import count
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.ports import free_port, wait_port
from tests.web import browser
from tests.web.site import WebSite, cabinet_level, publish_uplinks, seed_history, set_password, write_web_site

SHOTS = Path(os.environ.get("EDGE_AGENT_SHOTS", "/tmp/edge-agent-web-shots"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSite]:
    directory = tmp_path_factory.mktemp("web")
    sim_port, web_port = free_port(), free_port()
    sim = subprocess.Popen([sys.executable, "-m", "tests.cli.modbus_sim", str(sim_port)])
    broker = Broker(directory).start()
    agent = AgentProcess(write_web_site(directory, broker_port=broker.port, sim_port=sim_port, web_port=web_port))
    web: subprocess.Popen[bytes] | None = None
    try:
        wait_port(sim_port)
        config = agent.config
        assert set_password(config).returncode == 0
        db = directory / "store.db"
        seed_history(db, time.time())
        agent.start()
        wait_until((directory / "control.sock").exists, what="control socket")
        wait_until(lambda: count(db, "SELECT count(*) FROM records WHERE device='cabinet'") > 0,
                   what="first Modbus readings")
        wait_until(lambda: cabinet_level(sim_port) == 60, what="the cabinet at the program's 60 %")
        publish_uplinks(broker.port)
        wait_until(lambda: count(db, "SELECT count(*) FROM records WHERE kind=1 AND point='alarm.raised'") > 0,
                   what="the full bin's alarm raised by the agent")
        log = open(directory / "web.log", "ab")  # noqa: SIM115 - the child keeps it
        web = subprocess.Popen([sys.executable, "-m", "edge_agent", "web", "--config", str(config),
                                "--log-format", "json"], stdout=log, stderr=log)
        log.close()
        wait_port(web_port)
        yield WebSite(config, directory, sim_port, broker.port, agent, web, f"http://127.0.0.1:{web_port}",
                      directory / "screenshots")
    finally:
        if web is not None:
            web.terminate()
            web.wait(10)
        if agent.proc is not None:
            agent.terminate()
        broker.stop()
        sim.terminate()
        sim.wait(10)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.webdriver.Chrome]:
    if not browser.available():
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/setup-dev.sh installs them)")
    driver = browser.start(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()
