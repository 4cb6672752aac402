"""What each command loads: the daemon and the technician's commands import only what the site and the command use.

Each command runs as a real process (``python -m edge_agent ...``) under a small wrapper that writes the names in
``sys.modules`` to a file when the process exits. The assertions are about which modules are there, never about
time or memory (those are measured in bench/footprint.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent import openssl_guard
from edge_agent.config.store import StoreConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store
from tests.cli.helpers import field_devices
from tests.modbus.helpers import rtu_meter_devices, socat_pair
from tests.support.agent_proc import wait_until
from tests.support.broker import Broker
from tests.support.ports import free_port
from tests.support.site import simulated_devices, write_site

REPO = Path(__file__).resolve().parents[2]

# Runs edge_agent's entry point as ``python -m edge_agent`` does; at exit, the loaded modules go to argv[1] (not
# a name withheld with None, as edge_agent/openssl_guard.py withholds ssl and _hashlib).
_WRAPPER = """
import atexit, json, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(n for n, m in sys.modules.items() if m))))
sys.argv = ["edge-agent", *sys.argv[2:]]
runpy.run_module("edge_agent", run_name="__main__", alter_sys=True)
"""

# Never in a process that neither serves a page, nor renders with rich, nor runs the demo, nor sends gRPC; and
# structlog never (edge_agent/logs.py writes the log lines), nor paho (the agent has its own MQTT client).
NEVER = ("structlog", "rich", "pygments", "grpc", "chirpstack_api", "google.protobuf", "starlette", "uvicorn", "jinja2",
         "matplotlib", "psycopg", "argon2", "edge_agent.demo", "edge_agent.simulated", "edge_agent.web", "paho")
# A technician's command that talks to no device loads no field-bus or MQTT client either.
# pydantic and its core: the daemon and the everyday commands read the config compiled, never validate it.
WITHOUT_PYDANTIC = ("pydantic", "pydantic_core", "annotated_types", "typing_inspection")
NO_DEVICE = (*NEVER, "pymodbus", "serial", "edge_agent.mqtt_client", "edge_agent.mqtt", "edge_agent.modbus.adapter",
             "edge_agent.lorawan.adapter")


# Modules a daemon that reached its broker still has no use for: the IDNA codec (with stringprep and unicodedata),
# which Python loads to encode a host name given as str (edge_agent/mqtt_client.py gives ASCII names as bytes), and
# random (retry jitter comes from os.urandom, edge_agent/backoff.py).
LEFT_OUT = ("encodings.idna", "stringprep", "unicodedata", "random")


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages or modules) are among ``modules``."""
    return [name for name in names if any(m == name or m.startswith(name + ".") for m in modules)]


def modules_of(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               until_ready: bool = False, until_logged: str | None = None) -> list[str]:
    """The modules a command had loaded when it exited (asserting it exited 0); a daemon (``until_ready``) is
    stopped at READY=1, or once ``until_logged`` is in its log after that."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    command = [sys.executable, "-c", _WRAPPER, str(out), *args]
    full_env = {**os.environ, **(env or {})}
    if not until_ready:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=full_env, cwd=REPO,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        _run_until_ready(command, full_env, tmp_path, until_logged)
    loaded = json.loads(out.read_text())
    assert isinstance(loaded, list)
    return loaded


def _run_until_ready(command: list[str], env: dict[str, str], folder: Path, until_logged: str | None = None) -> None:
    """Start the daemon, wait for READY=1 on $NOTIFY_SOCKET (as systemd does) and for ``until_logged`` in its log,
    then stop it with SIGTERM."""
    address = str(folder / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(address)
        notify.settimeout(60)
        with open(folder / "agent.log", "ab") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=log, env={**env, "NOTIFY_SOCKET": address},
                                    cwd=REPO)
        try:
            while b"READY=1" not in notify.recv(4096):
                pass
            if until_logged is not None:
                wait_until(lambda: until_logged in (folder / "agent.log").read_text(), timeout=30,
                           what=until_logged)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    os.unlink(address)
    assert code == 0, (folder / "agent.log").read_text()[-3000:]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("imports-broker")
    running = Broker(directory).start()
    yield running
    running.stop()


def _field_site(directory: Path, broker_port: int) -> Path:
    """A site of field devices only: a Modbus TCP meter (nothing answers on its port: these tests are about code
    loaded, not readings), a LoRaWAN node through ChirpStack's JSON events; no gRPC downlinks, no protobuf, no
    simulated device. Its store holds a reading, as a stopped agent leaves it."""
    path = write_site(directory, broker_port=broker_port, devices=field_devices(free_port()),
                      extra=f"\n[chirpstack]\nport = {broker_port}\n")
    store = Store.open(StoreConfig(path=directory / "store.db"))
    try:
        store.append([Reading("meter", "voltage", 231.5, 1_800_000_000.0, "V")])
    finally:
        store.close()
    return path


def test_help_loads_no_command_and_no_config_code(tmp_path: Path) -> None:
    loaded = modules_of(tmp_path, "--help")
    assert _loaded(loaded, NO_DEVICE) == []
    assert _loaded(loaded, ("pydantic", "yaml", "structlog", "sqlite3", "edge_agent.config", "edge_agent.store")) == []
    assert [m for m in loaded if m.endswith("_cmd")] == []


@pytest.mark.parametrize("command", ["status", "queue", "points", "config", "decode"])
def test_a_command_help_loads_that_command_alone(tmp_path: Path, command: str) -> None:
    loaded = modules_of(tmp_path, command, "--help")
    assert _loaded(loaded, NO_DEVICE) == []
    commands = sorted(m for m in loaded if m.endswith("_cmd"))
    assert len(commands) == 1 and commands[0].startswith("edge_agent.cli."), commands
    assert _loaded(loaded, ("edge_agent.store.store", "edge_agent.control.client", "yaml")) == []


@pytest.mark.parametrize("args", [("status",), ("queue",), ("points",), ("devices",)], ids=lambda a: a[0])
def test_offline_commands_read_the_store_without_device_or_agent_code(tmp_path: Path, broker: Broker,
                                                                      args: tuple[str, ...]) -> None:
    config = _field_site(tmp_path, broker.port)
    loaded = modules_of(tmp_path, *args, "--config", str(config))
    assert _loaded(loaded, NO_DEVICE) == []
    assert _loaded(loaded, ("edge_agent.agent", "edge_agent.sync", "edge_agent.rules.engine",
                            "edge_agent.reports.report_service")) == []
    assert _loaded(loaded, WITHOUT_PYDANTIC) == [], "the site config is read compiled (edge_agent/config/compiled.py)"
    assert _loaded(loaded, ("typer", "click")) == [], "a plain command line runs without typer (cli/quick.py)"
    assert "tomllib" not in loaded, "the first command after the config was written has it compiled unparsed, and" \
        " the Modbus profiles come parsed in the compiled form"
    if args[0] != "points":  # which reads the drivers' points: the codecs list theirs
        again = modules_of(tmp_path, *args, "--config", str(config))
        assert _loaded(again, ("tomllib", "edge_agent.lorawan.codecs")) == [], \
            "the compiled form is found without parsing the TOML, and no codec is loaded to list devices"


def test_config_check_and_decode_load_no_device_code(tmp_path: Path, broker: Broker) -> None:
    config = _field_site(tmp_path, broker.port)
    for args in (("config", "check", str(config)),
                 ("decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "0d0a07e900000001")):
        loaded = modules_of(tmp_path, *args)
        assert _loaded(loaded, NO_DEVICE) == [], args
        assert _loaded(loaded, ("edge_agent.store", "edge_agent.agent")) == [], args
        assert _loaded(loaded, WITHOUT_PYDANTIC) == [], args
        assert _loaded(loaded, ("typer", "click")) == [], f"{args[0]} runs without typer (cli/quick.py)"


def test_the_daemon_loads_what_its_site_uses_and_nothing_of_the_cli(tmp_path: Path, broker: Broker) -> None:
    config = _field_site(tmp_path, broker.port)
    loaded = modules_of(tmp_path, "run", "--config", str(config), "--log-format", "json", until_ready=True)
    assert _loaded(loaded, NEVER) == []
    assert _loaded(loaded, ("typer", "click", "edge_agent.cli.app", "edge_agent.lorawan.events_protobuf")) == []
    used = ("edge_agent.modbus.tcp", "edge_agent.mqtt_client", "edge_agent.lorawan.lorawan_service")
    assert _loaded(loaded, used) == list(used)
    assert _loaded(loaded, ("pymodbus",)) == [], "pymodbus serves serial lines only: a TCP-only site leaves it out"
    assert _loaded(loaded, WITHOUT_PYDANTIC) == []
    # Modules the daemon has no use for: a YAML parser (the compiled form holds what the check parsed, see
    # edge_agent/config/compiled.py; bundled drivers' vectors are not run), argparse (with gettext), shutil (with bz2
    # and lzma), uuid, ctypes.util.
    assert _loaded(loaded, ("yaml", "edge_agent.modbus.vectors", "edge_agent.lorawan.vectors", "argparse",
                            "gettext", "shutil", "bz2", "lzma", "uuid", "ctypes.util")) == []
    assert (tmp_path / "store.db.compiled.json").is_file(), "a first start compiles the config for the next ones"
    again = modules_of(tmp_path, "run", "--config", str(config), "--log-format", "json", until_ready=True)
    assert _loaded(again, WITHOUT_PYDANTIC) == []
    # No TOML parser either (377 KB allocated by its import): the profiles come compiled, and a first start has
    # the pydantic process parse the config's text (edge_agent/config/compiled.py, compile_unparsed).
    assert "tomllib" not in loaded and "tomllib" not in again


@pytest.mark.skipif(not openssl_guard.ENABLED, reason="OpenSSL is withheld with an MQTT client that runs without it")
def test_the_daemon_of_a_site_without_tls_runs_without_ssl(tmp_path: Path, broker: Broker) -> None:
    """No [upstream.tls]: OpenSSL is never loaded, neither ssl nor hashlib's _hashlib
    (edge_agent/openssl_guard.py), and the daemon still reaches its (plain) broker."""
    config = _field_site(tmp_path, broker.port)
    loaded = modules_of(tmp_path, "run", "--config", str(config), "--log-format", "json", until_ready=True,
                        until_logged='"event": "upstream_up"')
    assert _loaded(loaded, ("ssl", "_ssl", "_hashlib")) == []
    assert "hashlib" in loaded, "hashlib itself is used, with Python's built-in SHA-256"
    assert _loaded(loaded, LEFT_OUT) == []


def test_the_daemon_of_an_rtu_site_loads_neither_pymodbus_nor_ssl(tmp_path: Path, broker: Broker) -> None:
    """An RTU bus goes through the project's own client (edge_agent/modbus/rtu.py, pyserial): no pymodbus, and so
    no ssl either (pymodbus imports it whatever its transport). The daemon polls a meter on one end of a pty pair
    that nothing answers on: its request goes out and times out."""
    with socat_pair(tmp_path) as (agent_end, _device_end):
        devices = rtu_meter_devices(agent_end, baudrate=19200, timeout=0.1)
        config = write_site(tmp_path, broker_port=broker.port, devices=devices)
        loaded = modules_of(tmp_path, "run", "--config", str(config), "--log-format", "json", until_ready=True,
                            until_logged='"event": "modbus_poll_failed"')
    assert '"kind": "timeout"' in (tmp_path / "agent.log").read_text(), "the port opened and the request went out"
    assert _loaded(loaded, ("edge_agent.modbus.rtu", "serial")) == ["edge_agent.modbus.rtu", "serial"]
    assert _loaded(loaded, ("pymodbus",)) == []
    if openssl_guard.ENABLED:
        assert _loaded(loaded, ("ssl", "_ssl", "_hashlib")) == []


def test_the_daemon_of_a_site_with_tls_loads_ssl(tmp_path: Path, broker: Broker) -> None:
    """The other side: [upstream.tls] keeps ssl (tests/contract/test_security.py has the daemon reach a TLS
    broker with it). Its handshake with this plain broker fails once the broker's name went to OpenSSL."""
    config = _field_site(tmp_path, broker.port)
    config.write_text(config.read_text() + "\n[upstream.tls]\nverify = false\n")
    loaded = modules_of(tmp_path, "run", "--config", str(config), "--log-format", "json", until_ready=True,
                        until_logged='"event": "upstream_down"')
    assert _loaded(loaded, ("ssl", "_ssl")) == ["ssl", "_ssl"]
    assert _loaded(loaded, LEFT_OUT) == []


def test_a_command_without_the_compiled_form_still_validates_with_pydantic(tmp_path: Path, broker: Broker) -> None:
    """The other side: a command that is not among the compiled ones loads pydantic, so the probe can see it."""
    config = _field_site(tmp_path, broker.port)
    loaded = modules_of(tmp_path, "drivers", "list", "--config", str(config))
    assert "pydantic" in loaded


def test_a_site_with_simulated_devices_loads_the_simulator(tmp_path: Path, broker: Broker) -> None:
    """The other side of the daemon's test: the probe sees a module the site does use."""
    config = write_site(tmp_path, broker_port=broker.port, devices=simulated_devices(count=1))
    loaded = modules_of(tmp_path, "run", "--config", str(config), "--log-format", "json", until_ready=True)
    assert "edge_agent.simulated" in loaded
    assert _loaded(loaded, ("edge_agent.demo", "rich", "grpc", "typer")) == []


def test_the_help_table_matches_the_commands() -> None:
    """``edge-agent --help`` lists each command from a table, without loading it: the table says what it does."""
    from edge_agent.cli.app import COMMANDS, load_command

    for name, (_module, text) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str(300) == text, name


def test_the_daemon_leaves_the_reports_code_to_the_reports_process() -> None:
    """The daily report's composition (energy, bins, counts, FIWARE) runs in a process of its own
    (edge_agent/reports/process.py), never among the daemon's modules; tests/reports/test_daily.py checks that
    the side that asks for a report loads none of it either."""
    script = ("import sys\nfrom edge_agent.config import mode\nmode.use_compiled()\n"
              "import edge_agent.agent, edge_agent.cli.daemon\n"
              "print(' '.join(sorted(m for m in sys.modules if m.startswith('edge_agent.reports'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO,
                          check=True)
    loaded = done.stdout.split()
    assert "edge_agent.reports.report_service" in loaded and "edge_agent.reports.due" in loaded
    assert _loaded(loaded, ("edge_agent.reports.daily", "edge_agent.reports.energy", "edge_agent.reports.waste",
                            "edge_agent.reports.mobility", "edge_agent.reports.fiware")) == []


def test_glibc_takes_the_arena_bound_and_trim_and_the_store_connection_has_a_256_kb_page_cache(tmp_path: Path) -> None:
    from edge_agent.allocator import limit_arenas, release_free_pages
    from edge_agent.store.database import open_database

    assert limit_arenas() is True  # glibc, as on the gateways' Debian
    assert release_free_pages() is True
    opened = open_database(tmp_path / "store.db")
    try:
        assert opened.conn.execute("PRAGMA cache_size").fetchone()[0] == -256
    finally:
        opened.conn.close()
