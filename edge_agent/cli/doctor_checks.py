"""The checks of ``edge-agent doctor``: each says ok, warn or fail, and for a failure the fix to try.

The judgements (``judge_*``) are pure; the probes around them touch the machine and the network.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import time
from pathlib import Path

from edge_agent.clock import kernel_clock_synced
from edge_agent.config.site import SiteConfig
from edge_agent.config.upstream import TlsConfig
from edge_agent.errors import ConfigError, DeviceError
from edge_agent.frozen import frozen
from edge_agent.lorawan.doctor import DEFAULT_CHIRPSTACK_TOML, check_chirpstack_text
from edge_agent.lorawan.grpc_client import read_token, token_problem
from edge_agent.store.series import StoreUnreadable
from edge_agent.store.view import integrity
from edge_agent.sync.credentials import check_tls_files, read_credentials

TIMEOUT = 3.0
EXPIRY_WARNING_DAYS = 30
MIN_FREE_BYTES = 100_000_000
_DAY = 86_400.0


@frozen
class Check:
    name: str
    status: str  # "ok", "warn" or "fail"
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


# -- serial ports -----------------------------------------------------------------------------------

def serial_ports(config: SiteConfig) -> list[Check]:
    checks = []
    for bus in config.modbus.buses:
        name, port = f"serial {bus.name}", Path(bus.port)
        if not port.exists():
            checks.append(failed(name, f"{port} does not exist",
                                 "plug in the RS-485 adapter; 'ls -l /dev/serial/by-id/' shows what is there;"
                                 " a by-id path survives re-plugging"))
        elif not os.access(port, os.R_OK | os.W_OK):
            checks.append(failed(name, f"{port} exists but this user may not open it",
                                 "add the service user to the dialout group: 'sudo usermod -aG dialout edge-agent'"
                                 " (then log in again), or run doctor with sudo"))
        else:
            checks.append(ok(name, f"{port} is there and accessible"))
    return checks


# -- brokers ----------------------------------------------------------------------------------------

def reachable(name: str, host: str, port: int, fix: str) -> Check:
    try:
        socket.create_connection((host, port), timeout=TIMEOUT).close()
    except OSError as exc:
        return failed(name, f"cannot reach {host}:{port} ({exc.strerror or exc})", fix)
    return ok(name, f"{host}:{port} answers")


def judge_expiry(name: str, not_after: float, now: float, warn_days: int = EXPIRY_WARNING_DAYS) -> Check:
    days = (not_after - now) / _DAY
    when = time.strftime("%Y-%m-%d", time.gmtime(not_after))
    renew = "renew the broker's certificate (ask the hypervisor's operator)"
    if days < 0:
        return failed(name, f"the broker's certificate expired on {when}", renew)
    if days < warn_days:
        return failed(name, f"the broker's certificate expires in {days:.0f} days ({when})", renew)
    return ok(name, f"valid until {when} ({days:.0f} days)")


def _tls_context(tls: TlsConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tls_certificate(host: str, port: int, tls: TlsConfig, now: float) -> Check:
    name = "upstream TLS"
    try:
        context = _tls_context(tls)
        with socket.create_connection((host, port), timeout=TIMEOUT) as raw, \
                context.wrap_socket(raw, server_hostname=host) as conn:
            cert = conn.getpeercert()
    except ssl.SSLCertVerificationError as exc:
        return failed(name, f"the broker's certificate is not trusted: {exc.verify_message}",
                      "check upstream.tls.ca_file holds the CA that signed the broker's certificate, and that the"
                      " gateway's clock is right")
    except (ssl.SSLError, OSError) as exc:
        return failed(name, f"TLS handshake with {host}:{port} failed: {exc}",
                      "check that the port is the broker's TLS port and the ca/cert/key files in upstream.tls")
    if not tls.verify or not cert:
        return Check(name, "warn", "verification is off (upstream.tls.verify = false): expiry not checked",
                     "set verify = true with the broker's CA in upstream.tls.ca_file")
    return judge_expiry(name, ssl.cert_time_to_seconds(str(cert["notAfter"])), now)


def secret_files(config: SiteConfig) -> Check:
    """The TLS, credentials and ChirpStack token files the agent will open, judged by the agent's own functions."""
    name = "secret files"
    tls, up = config.upstream.tls, config.upstream
    token = config.chirpstack.api_token_file if config.chirpstack is not None else None
    given = [*((tls.ca_file, tls.cert_file, tls.key_file) if tls is not None else ()), up.credentials_file, token]
    problems: list[str] = []
    try:
        check_tls_files(config)
    except ConfigError as exc:
        problems += exc.problems
    if up.credentials_file is not None:
        try:
            read_credentials(up.credentials_file)
        except ConfigError as exc:
            problems += exc.problems
    if token is not None:
        try:
            read_token(token)
        except (OSError, DeviceError) as exc:
            problems.append(token_problem(token, exc))
    if problems:
        return failed(name, "; ".join(problems), "put each file in place, readable by the agent's group only"
                      " (chmod 640, chgrp edge-agent); the agent tries them again every 30 s")
    files = [f for f in given if f is not None]
    return ok(name, f"{len(files)} readable" if files else "none configured")


def upstream(config: SiteConfig, now: float) -> list[Check]:
    up = config.upstream
    checks = [reachable("upstream broker", up.host, up.port,
                        "check the network (ping the broker, the cabinet's router and the fibre link) and"
                        " upstream.host/port; the agent keeps data and retries meanwhile")]
    if up.tls is not None and checks[0].status == "ok":
        checks.append(tls_certificate(up.host, up.port, up.tls, now))
    return checks


def chirpstack(config: SiteConfig, toml: Path = DEFAULT_CHIRPSTACK_TOML) -> list[Check]:
    ours = config.chirpstack
    if ours is None:
        return []
    checks = [reachable("chirpstack broker", ours.host, ours.port,
                        "start the local Mosquitto ('sudo systemctl start mosquitto') or fix chirpstack.host/port")]
    if not toml.exists():
        checks.append(Check("chirpstack qos", "warn", f"{toml} is not on this machine",
                            "on the ChirpStack host, set qos=1 under [integration.mqtt] in chirpstack.toml so that"
                            " events wait for the agent while it restarts"))
        return checks
    try:
        findings = check_chirpstack_text(toml.read_text(encoding="utf-8"), ours)
    except OSError as exc:
        return [*checks, failed("chirpstack config", f"cannot read {toml}: {exc.strerror}", "run doctor with sudo")]
    for finding in findings:
        label = finding.check.replace("_", " ")
        checks.append(ok(label, finding.message) if finding.ok else failed(label, finding.message, finding.message))
    return checks


# -- the machine ------------------------------------------------------------------------------------

def judge_clock(synced: bool | None) -> Check:
    if synced:
        return ok("clock", "synchronised (NTP)")
    if synced is None:
        return Check("clock", "warn", "cannot tell whether the clock is synchronised", "run 'timedatectl status'")
    return failed("clock", "not synchronised: readings are stamped with an untrusted time",
                  "check 'timedatectl status'; enable NTP with 'sudo timedatectl set-ntp true' and make sure"
                  " UDP port 123 or the configured NTP server is reachable")


def clock() -> Check:
    return judge_clock(kernel_clock_synced())


def judge_disk(free: int, total: int, store_room: int) -> Check:
    """``store_room``: how much more the store may still grow before it reaches its bound."""
    text = f"{free / 1e9:.1f} GB free of {total / 1e9:.1f} GB"
    if free < MIN_FREE_BYTES or free < total * 0.05:
        return failed("disk", text, "free space: 'sudo journalctl --vacuum-size=50M', remove old files in /var/log;"
                                    " or lower store.max_bytes")
    if free < store_room:
        return Check("disk", "warn", f"{text}, but the store may grow by {store_room / 1e9:.1f} GB",
                     "lower store.max_bytes below the free space")
    return ok("disk", text)


def disk(config: SiteConfig) -> Check:
    from edge_agent.control.facts import disk_json

    facts = disk_json(config.store.path)
    if "error" in facts:
        return failed("disk", f"cannot measure {facts['path']}: {facts['error']}", "check store.path")
    used = config.store.path.stat().st_size if config.store.path.exists() else 0
    return judge_disk(facts["free_bytes"], facts["total_bytes"], max(config.store.max_bytes - used, 0))


def database(config: SiteConfig) -> Check:
    db = config.store.path
    if not db.exists():
        return ok("database", f"no store yet at {db} (the agent creates it when it starts)")
    try:
        result = integrity(db)
    except StoreUnreadable as exc:
        return failed("database", str(exc),
                      "check its permissions; if it is corrupt, restart the agent: it moves a broken store aside")
    if result != "ok":
        return failed("database", f"{db} is damaged: {result}",
                      "restart the agent ('sudo systemctl restart edge-agent'): it moves a damaged store aside and"
                      " starts a new one")
    return ok("database", f"{db} passes its integrity check")


# -- the daemon's bytecode ---------------------------------------------------------------------------

def judge_bytecode(prefix: Path, checked: int, stale: list[Path], python: Path) -> Check:
    """``stale``: of the ``checked`` modules compiled for the daemon into ``prefix``, those whose bytecode is missing
    or older than their source; ``python``: the installed version's interpreter, which compiles them again."""
    name = "bytecode"
    if not stale:
        return ok(name, f"the daemon's {checked} modules are compiled, up to date, in {prefix}")
    examples = ", ".join(str(path) for path in stale[:2]) + (", ..." if len(stale) > 2 else "")
    return Check(name, "warn",
                 f"{len(stale)} of {checked} modules have no up-to-date bytecode in {prefix} ({examples}): Python"
                 " or a package changed since the install, so the agent compiles them from source at each start"
                 " (a slower start, never a wrong one)",
                 f"compile them again: 'sudo {python} -m edge_agent.bytecode {prefix}', then"
                 " 'sudo systemctl restart edge-agent'")


def bytecode(prefix: Path | None = None) -> Check | None:
    """The daemon's bytecode in this version's own folder (``pycache``, where scripts/install.sh compiles it and the
    unit looks for it); None where there is no such folder (a checkout, a plain pip install): nothing to check."""
    from edge_agent import bytecode as compiled  # the doctor's alone: no other command needs it

    folder = Path(sys.prefix) / "pycache" if prefix is None else prefix
    if not folder.is_dir():
        return None
    checked, stale = compiled.out_of_date(folder)
    return judge_bytecode(folder, checked, stale, Path(sys.executable))
