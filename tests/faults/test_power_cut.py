"""Power cuts: the real agent with its config and its store on the power-cut filesystem (``tests/faults/powerfs``),
which drops every write and every name not synced when the power goes.

A cut, as the tests make it: the power goes off, at a random moment or at a chosen change to a chosen file (a WAL
sync of a group commit, a write of the database during a checkpoint, the rename of a corrupt store, a step of a
config push); the test notes what the agent's store showed as committed at that instant (a reader sees a commit
only once SQLite synced it and returned); the agent is killed; everything not durable is dropped; the agent
starts again on what is left. The audit, once everything is delivered:

- every record whose commit returned (seen by the reader at a cut, or delivered) reaches the hypervisor, or is a
  routine reading the size bound dropped and counted;
- a sequence number never goes back: no number is ever seen (by a reader or by the hypervisor) with two different
  records;
- the store opens after every cut, or is moved aside with a store_corrupt alarm that reaches the hypervisor;
- a pushed config is the pushed one or the previous one, whole, and agrees with the answer the hypervisor got.

The default suite makes a handful of cuts; ``--run-slow`` makes at least a hundred (``--power-cuts N``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.config.store import StoreConfig
from edge_agent.durable import sync_directory
from edge_agent.reading import Reading
from edge_agent.store.store import Store
from edge_agent.sync.payloads import iso_utc
from tests.faults import figures
from tests.faults.powerfs import PowerCutDisk, power_cut_disk
from tests.faults.rig import TimedCapture, running_rig, store_path
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site

Identity = tuple[str, str | None, str]  # ts (ms), device, point or event kind


def sync_tree(root: Path) -> None:
    """Everything under ``root`` (and its name in its parent) made durable: the files an installer wrote, long
    before any cut."""
    for directory, _, files in [*os.walk(root), (str(root.parent), [], [])]:
        for name in files:
            if (Path(directory) / name).is_file():  # not the control socket
                with open(Path(directory) / name, "rb") as handle:
                    os.fsync(handle.fileno())
        sync_directory(Path(directory))


def _identity_of_row(ts: float, device: str | None, point: str) -> Identity:
    return iso_utc(ts), device, point


def _identity_of_record(record: dict[str, Any]) -> Identity:
    return str(record["ts"]), record.get("device"), str(record.get("point") or record.get("event"))


@dataclass
class Ledger:
    """What was seen committed, and where a sequence number went back."""

    seen: dict[int, Identity] = field(default_factory=dict)
    kinds: dict[int, int] = field(default_factory=dict)
    went_back: list[str] = field(default_factory=list)  # the first few, for the message
    reused: set[int] = field(default_factory=set)  # every number seen with two different records

    def note(self, seq: int, identity: Identity, where: str) -> None:
        known = self.seen.setdefault(seq, identity)
        if known != identity:
            self.reused.add(seq)
            if len(self.went_back) < 20:
                self.went_back.append(f"seq {seq}: {known} then {identity} ({where})")


@dataclass
class PowerCuts:
    """The agent on the power-cut disk, cut again and again; what each cut showed and lost."""

    disk: PowerCutDisk
    config: Path
    log: Path
    agent: AgentProcess
    rng: random.Random
    ledger: Ledger = field(default_factory=Ledger)
    moments: dict[str, int] = field(default_factory=dict)
    landed: dict[str, int] = field(default_factory=dict)  # what the power actually went off on, by kind of change
    db: Path = field(init=False)
    lost_pages: int = 0
    lost_names: int = 0
    opened: int = 0  # restarts after which the store opened as it was
    moved: int = 0  # restarts after which it was moved aside
    reader: sqlite3.Connection | None = None
    full_run: bool = False  # --run-slow: recorded apart from the default suite's handful of cuts
    rollback: bool = False  # the store in rollback mode: a reader waits while a commit writes the file
    unwitnessed: int = 0  # cuts whose instant no reader could see (a commit had the file): noted just before

    def __post_init__(self) -> None:
        self.db = store_path(self.config)

    def open_reader(self) -> None:
        """A reader kept open while the agent runs, to note what is committed at the instant of a cut.

        It must be open before the power goes: opening SQLite's WAL as root changes its owner (fchown), which
        waits for the file's lock, held by the agent's change that the power cut blocked. A read on an open
        connection needs no such change."""
        self.reader = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=2 if self.rollback else 10,
                                      isolation_level=None)
        self.reader.execute("SELECT max(seq) FROM records").fetchall()  # opens the WAL and its index now

    def close_reader(self) -> None:
        if self.reader is not None:
            with contextlib.suppress(sqlite3.Error):
                self.reader.close()
            self.reader = None

    def witness(self, where: str) -> None:
        """Note every record the store shows committed now (as the CLI reads it)."""
        conn = self.reader or sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("SELECT seq, kind, ts, device, point FROM records").fetchall()
        finally:
            if conn is not self.reader:
                conn.close()
        for seq, kind, ts, device, point in rows:
            self.ledger.note(int(seq), _identity_of_row(ts, device, point), where)
            self.ledger.kinds[int(seq)] = int(kind)

    def cut(self, moment: str, arm: tuple[str, str, int, bool] | None = None, *, wait: float = 20.0,
            restart: bool = True) -> str:
        """The power goes off (at the armed change, or now when it does not come within ``wait`` s), the
        committed records are noted, the agent is killed, the disk loses what was not synced; restart."""
        if self.rollback and self.reader is not None:  # what is committed now is committed at the cut too
            self.witness(f"before cut {sum(self.moments.values()) + 1} ({moment})")
        if arm is not None:
            op, name, count, after = arm
            self.disk.arm(op, name, count, after=after)
        frozen = self._wait_frozen(wait) if self.disk.status()["armed"] else None
        if frozen is None:
            self.disk.freeze()
            frozen = "now"
        if self.reader is not None:  # none while the agent starts (the corrupt-store cuts): nothing to note yet
            try:
                self.witness(f"cut {sum(self.moments.values()) + 1} ({moment}, {frozen})")
            except sqlite3.OperationalError:  # rollback mode: the cut commit holds the file, readers wait on it
                if not self.rollback:
                    raise
                self.unwitnessed += 1
        assert self.agent.proc is not None
        lost = self.disk.kill_and_cut(self.agent.proc)
        self.agent.proc = None
        self.close_reader()
        self.lost_pages += int(lost["lost_pages"])
        self.lost_names += int(lost["lost_names"])
        self.moments[moment] = self.moments.get(moment, 0) + 1
        self.landed[_kind_of_change(frozen)] = self.landed.get(_kind_of_change(frozen), 0) + 1
        if restart:
            self.start()
        return frozen

    def _wait_frozen(self, wait: float) -> str | None:
        """What the power went off on, or None when it did not within ``wait`` s (or the agent exited first)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            status = self.disk.status()
            if status["frozen"] is not None:
                return str(status["frozen"])
            if self.agent.returncode is not None:
                return None
            time.sleep(0.02)
        return None

    def start(self) -> None:
        """Start the agent; return once this run of it has committed (its agent_started event at least)."""
        before = set(self.db.parent.glob("store.db.corrupt-*"))
        ready = self._readies()
        self.agent = AgentProcess(self.config, log=self.log).start()
        wait_until(lambda: self._readies() > ready and _committing(self.db), timeout=30,
                   what="the agent committing again")
        if set(self.db.parent.glob("store.db.corrupt-*")) - before:
            self.moved += 1
        else:
            self.opened += 1
        self.open_reader()

    def _readies(self) -> int:
        """How many times the agent said it was ready (its log is off the cut disk)."""
        return self.log.read_text().count('"event": "agent_ready"') if self.log.exists() else 0

    def stop(self) -> None:
        """SIGTERM: the agent stops as systemd stops it."""
        self.close_reader()
        assert self.agent.proc is not None
        self.agent.terminate()
        self.agent.proc = None

    def wait_committing(self, more: int = 20) -> None:
        wait_until(lambda: self.db.exists() and _committing(self.db), timeout=30, what="a store")
        floor = _top(self.db)
        wait_until(lambda: _top(self.db) > floor + more, timeout=30, what="the agent committing")

    @property
    def cuts(self) -> int:
        return sum(self.moments.values())


def _kind_of_change(frozen: str) -> str:
    """'at fsync /site/store.db-wal' -> 'fsync store.db-wal'."""
    words = frozen.split()
    if len(words) < 3:
        return frozen
    return f"{words[1]} {os.path.basename(words[2])}"


def _top(db: Path) -> int:
    rows = store_rows(db, "SELECT max(seq) FROM records")
    return int(rows[0][0] or 0) if rows else 0  # type: ignore[call-overload]


def _committing(db: Path) -> bool:
    return _top(db) > 0


@dataclass
class Verdict:
    checked: int
    lost: list[int]
    dropped_allowed: int
    duplicated: int
    went_back: list[str]


def audit(cuts: PowerCuts, records: list[tuple[float, dict[str, Any]]], *, dropped: int = 0) -> Verdict:
    """Every seq seen committed was delivered with the same record (or is a counted drop of a reading)."""
    cuts.witness("the end")
    delivered: dict[int, int] = {}
    for _, record in records:
        seq = int(record["seq"])
        cuts.ledger.note(seq, _identity_of_record(record), "delivered")
        delivered[seq] = delivered.get(seq, 0) + 1
    missing = sorted(set(cuts.ledger.seen) - set(delivered))
    readings = [seq for seq in missing if cuts.ledger.kinds.get(seq) == 0]
    allowed = min(len(readings), dropped)
    lost = [seq for seq in missing if cuts.ledger.kinds.get(seq) != 0] + readings[allowed:]
    return Verdict(checked=len(cuts.ledger.seen), lost=lost, dropped_allowed=allowed,
                   duplicated=sum(n - 1 for n in delivered.values()), went_back=list(cuts.ledger.went_back))


def _counter(db: Path, key: str) -> int:
    rows = store_rows(db, "SELECT value FROM meta WHERE key=?", (key,))
    return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]


def _record(name: str, promise: str, cuts: PowerCuts, verdict: Verdict, **details: Any) -> None:
    if cuts.full_run:
        name = name.replace("power cuts:", "power cuts, full run:")
    figures.record(name, promise=promise, faults=cuts.cuts, checked=verdict.checked, lost=len(verdict.lost),
                   duplicated=verdict.duplicated, moments=dict(sorted(cuts.moments.items())),
                   power_went_off_at=dict(sorted(cuts.landed.items(), key=lambda kv: -kv[1])[:8]),
                   store_opened=cuts.opened, store_moved_aside=cuts.moved, went_back=len(verdict.went_back),
                   unsynced_pages_dropped=cuts.lost_pages, unsynced_names_dropped=cuts.lost_names, **details)


def _assert(verdict: Verdict) -> None:
    assert not verdict.went_back, "PROMISE BROKEN: a sequence number went back: " + "; ".join(verdict.went_back[:5])
    assert not verdict.lost, (f"PROMISE BROKEN: {len(verdict.lost)} records whose commit returned never reached "
                              f"the hypervisor, e.g. seq {verdict.lost[:10]}")


def _full_run(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--run-slow"))


def _cut_count(request: pytest.FixtureRequest, default: int, slow: int) -> int:
    if not request.config.getoption("--run-slow"):
        return default
    return max(int(request.config.getoption("--power-cuts")) or slow, default)


# -- group commits, acknowledgements, checkpoints ----------------------------------------------------


Arm = Callable[[random.Random], tuple[str, str, int, bool]]  # the change the power goes off at: op, file, n, after

# Where a commit of the WAL store can be cut (``_moments``).
WAL_CUTS: dict[str, Arm] = {
    "group commit": lambda rng: ("fsync", "store.db-wal", rng.randint(1, 12), rng.random() < 0.5),
    "wal write": lambda rng: ("write", "store.db-wal", rng.randint(1, 40), False),
}
# The same in rollback mode: at a journal write or sync the commits before it must have landed whole (a reader
# still sees them at the instant); then the file's writes and sync, and the journal's truncation (the commit's own
# instant).
ROLLBACK_CUTS: dict[str, Arm] = {
    "journal write": lambda rng: ("write", "store.db-journal", rng.randint(1, 40), False),
    "journal sync": lambda rng: ("fsync", "store.db-journal", rng.randint(1, 12), False),
    "file write": lambda rng: ("write", "store.db", rng.randint(1, 40), False),
    "file sync": lambda rng: ("fsync", "store.db", rng.randint(1, 12), rng.random() < 0.5),
    "journal truncation": lambda rng: ("truncate", "store.db-journal", rng.randint(1, 12), rng.random() < 0.5),
}


def _moments(cuts: PowerCuts, rig: Any, count: int, commits: dict[str, Arm], synced: str, *,
             checkpoint_at_stop: bool) -> None:
    """Cut ``count`` times, each at one of: a point of a commit (``commits``), a random instant, a backlog drain
    (acknowledgements riding in the commits; cut at a sync of ``synced``), and with ``checkpoint_at_stop`` the WAL's
    checkpoint while the agent stops."""
    kinds = [*commits, "any instant", "acknowledgements", *(["checkpoint at stop"] if checkpoint_at_stop else [])]
    for index in range(count):
        moment = kinds[index % len(kinds)] if index < len(kinds) else cuts.rng.choice(kinds)
        cuts.wait_committing()
        if moment in commits:
            cuts.cut(moment, commits[moment](cuts.rng))
        elif moment == "any instant":
            time.sleep(cuts.rng.uniform(0.05, 1.0))
            cuts.cut(moment)
        elif moment == "acknowledgements":  # the broker away a moment, then back: the backlog drains, acks flow
            rig.upstream.stop()
            time.sleep(cuts.rng.uniform(1.0, 2.5))
            rig.upstream.start()
            cuts.cut(moment, ("fsync", synced, cuts.rng.randint(3, 30), False))
        else:  # SIGTERM: the agent stops, checkpointing its WAL into the database; the power goes during it
            assert cuts.agent.proc is not None
            cuts.disk.arm("write", "store.db", cuts.rng.randint(1, 6), after=cuts.rng.random() < 0.5)
            cuts.agent.proc.send_signal(15)
            cuts.cut(moment, wait=10)


def _audit_after_cuts(cuts: PowerCuts, rig: Any) -> Verdict:
    """Once the cuts are over: let the agent commit, stop the feeder, drain, stop the agent, audit."""
    cuts.wait_committing(50)
    rig.feeder.stop()
    with contextlib.suppress(AssertionError):  # the audit says what is missing
        _drain(cuts, rig.capture)
    cuts.stop()
    return audit(cuts, rig.capture.records())


@contextlib.contextmanager
def _agent_on_disk(tmp: Path, cuts_seed: int, *, full_run: bool, rollback: bool = False,
                   **rig_args: Any) -> Iterator[tuple[PowerCuts, Any]]:
    """The agent on the power-cut disk; ``rollback``: its store in rollback mode (``journal = "rollback"``)."""
    if rollback:
        rig_args["store"] = 'journal = "rollback"'
    with power_cut_disk(tmp / "disk") as disk:
        site, state = disk.mountpoint / "etc", disk.mountpoint / "var"  # as on a gateway: apart
        site.mkdir()
        state.mkdir()
        with running_rig(tmp, modbus_devices=2, site=site, state=state, **rig_args) as rig:
            sync_tree(site)
            sync_tree(state)
            cuts = PowerCuts(disk, rig.config, tmp / "agent.log", rig.agent, random.Random(cuts_seed),
                             full_run=full_run, rollback=rollback)
            cuts.wait_committing()
            cuts.open_reader()
            try:
                yield cuts, rig
            finally:
                cuts.close_reader()
                if cuts.agent.proc is not None:
                    cuts.agent.kill()
                rig.agent.proc = None


def _drain(cuts: PowerCuts, capture: TimedCapture, timeout: float = 60.0, *, evicting: bool = False) -> None:
    """Wait until the outbox holds nothing seen so far and (unless the size bound dropped some) the hypervisor has
    every record seen committed."""
    cuts.witness("before the drain")
    top = max(cuts.ledger.seen, default=0)
    wait_until(lambda: not store_rows(cuts.db, "SELECT 1 FROM outbox WHERE seq<=? LIMIT 1", (top,))
               and (evicting or set(cuts.ledger.seen) <= {int(r["seq"]) for _, r in capture.records()}),
               timeout=timeout, what="everything seen committed delivered")


@pytest.mark.timeout(1800)  # a hundred cuts with --run-slow
def test_power_cuts_during_commits_acknowledgements_and_checkpoints_lose_no_committed_record(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Promise: cut at group commits, WAL writes, random instants, backlog drains and shutdown checkpoints, the
    agent restarts every time on a store that opens, and every record whose commit returned is delivered, each
    sequence number always with the same record."""
    count = _cut_count(request, default=4, slow=60)
    with _agent_on_disk(tmp_path, 2020 + count, full_run=_full_run(request)) as (cuts, rig):
        _moments(cuts, rig, count, WAL_CUTS, "store.db-wal", checkpoint_at_stop=True)
        verdict = _audit_after_cuts(cuts, rig)
    _record("power cuts: commits, acknowledgements, checkpoints", "every commit that returned is delivered, no "
            "sequence number goes back, the store opens", cuts, verdict)
    assert cuts.moved == 0, "PROMISE BROKEN: a store synced with FULL was found corrupt after a power cut"
    _assert(verdict)
    assert verdict.checked > 300, f"too little traffic to prove anything: {verdict.checked}"


@pytest.mark.timeout(1800)  # a hundred cuts with --run-slow
def test_power_cuts_in_rollback_mode_lose_no_committed_record(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Promise: the store in rollback mode (``journal = "rollback"``, the SD-card setting), cut at a commit's
    journal write and sync, file write and sync and journal truncation, at random instants and backlog drains, restarts
    every time on a store that opens, and every record whose commit returned is delivered, each sequence number
    always with the same record."""
    count = _cut_count(request, default=7, slow=60)
    with _agent_on_disk(tmp_path, 3030 + count, full_run=_full_run(request), rollback=True) as (cuts, rig):
        _moments(cuts, rig, count, ROLLBACK_CUTS, "store.db", checkpoint_at_stop=False)
        verdict = _audit_after_cuts(cuts, rig)
        versions = cuts.db.read_bytes()[18:20]  # the file's write and read versions: 1 rollback journal, 2 WAL
    _record("power cuts: rollback mode", "every commit that returned is delivered, no sequence number goes back, "
            "the store opens", cuts, verdict, unwitnessed=cuts.unwitnessed)
    assert versions == b"\x01\x01", f"the store is not in rollback mode: its header says {versions!r}"
    assert cuts.moved == 0, "PROMISE BROKEN: a store synced with FULL was found corrupt after a power cut"
    _assert(verdict)
    assert verdict.checked > 300, f"too little traffic to prove anything: {verdict.checked}"
    assert any(kind.endswith("store.db-journal") for kind in cuts.landed), cuts.landed  # the journal was cut at
    assert cuts.unwitnessed < cuts.cuts, "no cut was seen at its instant: the audit would miss a commit undone"


# -- size-bound eviction ----------------------------------------------------------------------------


@pytest.mark.timeout(1800)  # a hundred cuts with --run-slow
def test_power_cuts_while_the_size_bound_evicts_lose_only_counted_readings(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Promise: with the broker away and the store at its 1 MB bound (dropping the oldest readings at every
    commit), cuts at random moments lose nothing but the readings the bound dropped and counted; events are all
    delivered once the broker is back."""
    count = _cut_count(request, default=1, slow=20)
    with power_cut_disk(tmp_path / "disk") as disk:
        site = disk.mountpoint / "site"
        site.mkdir()
        (tmp_path / "broker").mkdir()
        broker = Broker(tmp_path / "broker")  # not started yet: the outbox fills to the bound
        config = write_site(site, broker_port=broker.port, store='max_bytes = "1 MB"',
                            devices=simulated_devices(4, poll=0.02, points=10))
        _fill(store_path(config))  # an outbox already at its bound: the agent evicts from its first commits
        sync_tree(site)
        cuts = PowerCuts(disk, config, tmp_path / "agent.log", AgentProcess(config, log=tmp_path / "agent.log"),
                         random.Random(77 + count), full_run=_full_run(request))
        cuts.start()
        capture = None
        try:
            wait_until(lambda: cuts.db.exists() and _counter(cuts.db, "dropped") > 0, timeout=60,
                       what="the size bound dropping readings")
            for index in range(count):
                cuts.wait_committing()
                if index % 2:
                    cuts.cut("eviction", ("fsync", "store.db-wal", cuts.rng.randint(1, 10), False))
                else:
                    time.sleep(cuts.rng.uniform(0.05, 0.8))
                    cuts.cut("eviction")
            cuts.wait_committing()
            broker.start()
            capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
            _drain(cuts, capture, evicting=True)
            time.sleep(1.0)  # the last PUBACKed batches reach the capture
            cuts.stop()
            dropped = _counter(cuts.db, "dropped")
            verdict = audit(cuts, capture.records(), dropped=dropped)
        finally:
            if capture is not None:
                capture.close()
            cuts.close_reader()
            if cuts.agent.proc is not None:
                cuts.agent.kill()
            broker.stop()
    _record("power cuts: size-bound eviction", "only readings the bound dropped and counted are missing, no "
            "sequence number goes back", cuts, verdict, dropped_counted=dropped,
            missing_readings_within_the_count=verdict.dropped_allowed)
    _assert(verdict)
    assert dropped > 0


def _fill(db: Path, readings: int = 12_000) -> None:
    """Readings in the outbox of a store of 1 MB at most, through the store itself (it evicts as it fills)."""
    store = Store.open(StoreConfig(path=db, max_bytes=1_000_000))
    try:
        now = time.time() - readings / 100
        for start in range(0, readings, 1000):
            batch = range(start, start + 1000)
            store.append([Reading("backlog", f"p{n % 10}", float(n), now + n / 100) for n in batch])
    finally:
        store.close()


# -- a corrupt store moved aside ---------------------------------------------------------------------


def _scribble(db: Path) -> None:
    with open(db, "r+b") as handle:
        handle.seek(0)
        handle.write(b"\xde\xad\xbe\xef" * 1024)
        handle.flush()
        os.fsync(handle.fileno())


@pytest.mark.timeout(1800)  # a hundred cuts with --run-slow
def test_power_cuts_while_a_corrupt_store_is_moved_aside_keep_the_alarm_and_the_sequence(
        tmp_path: Path, broker: Broker, request: pytest.FixtureRequest) -> None:
    """Promise: the store scribbled over between runs, the power cut at each step of the next start (the renames
    aside, the new database, its first commits): the next start always ends with a working store, every file moved
    aside gets its store_corrupt alarm upstream, and no sequence number is used twice."""
    count = _cut_count(request, default=1, slow=20)
    capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    with power_cut_disk(tmp_path / "disk") as disk:
        site = disk.mountpoint / "site"
        site.mkdir()
        config = write_site(site, broker_port=broker.port)
        sync_tree(site)
        log = tmp_path / "agent.log"
        cuts = PowerCuts(disk, config, log, AgentProcess(config, log=log), random.Random(5 + count),
                         full_run=_full_run(request))
        try:
            cuts.start()
            for _ in range(count):
                cuts.wait_committing(100)
                _drain(cuts, capture)  # what the damage takes was delivered: only the cuts are judged
                cuts.stop()
                cuts.witness("before the damage")
                _scribble(cuts.db)
                cuts.agent = AgentProcess(config, log=log).start()
                cuts.cut("corrupt-store move-aside", ("*", "store.db*", cuts.rng.randint(1, 14),
                                                      cuts.rng.random() < 0.5), wait=15)
            cuts.wait_committing(50)
            moved = [p.name for p in site.glob("store.db.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
            wait_until(lambda: {str(Path(r["data"]["moved_to"]).name) for _, r in capture.records()
                                if r.get("event") == "store_corrupt"} >= set(moved), timeout=30,
                       what="an alarm for every store moved aside")
            _drain(cuts, capture)
            cuts.stop()
            verdict = audit(cuts, capture.records())
            alarms = {str(Path(r["data"]["moved_to"]).name) for _, r in capture.records()
                      if r.get("event") == "store_corrupt"}
        finally:
            capture.close()
            cuts.close_reader()
            if cuts.agent.proc is not None:
                cuts.agent.kill()
    _record("power cuts: corrupt-store move-aside", "every store moved aside gets its alarm upstream, no sequence "
            "number goes back", cuts, verdict, files_moved_aside=len(moved),
            alarms_upstream=len(alarms))
    _assert(verdict)
    assert moved and set(moved) <= alarms, f"PROMISE BROKEN: moved aside without an alarm: {set(moved) - alarms}"


# -- a config push on trial -------------------------------------------------------------------------


class Commander:
    """The hypervisor's command side on the plain test broker: sends requests, resends them until answered."""

    def __init__(self, port: int, capture: TimedCapture) -> None:
        self.capture = capture
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hv-cmd-{uuid.uuid4().hex[:6]}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.sent: dict[str, bytes] = {}

    def send(self, command: str, args: dict[str, Any]) -> str:
        request_id = uuid.uuid4().hex[:12]
        body = {"v": 1, "id": request_id, "command": command, "args": args,
                "sent_at": iso_utc(time.time())}
        self.sent[request_id] = json.dumps(body).encode()
        self.client.publish("fute/gw-test/commands", self.sent[request_id], qos=1).wait_for_publish(10)
        return request_id

    def answers(self, request_id: str) -> list[dict[str, Any]]:
        out = []
        for message in self.capture.messages:
            if message.topic.endswith("/responses"):
                answer = json.loads(message.payload)
                if answer.get("id") == request_id and (answer.get("error") or {}).get("code") != "in_progress":
                    out.append(answer)
        return out

    def answer(self, request_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.answers(request_id)
            if got:
                return got[0]
            self.client.publish("fute/gw-test/commands", self.sent[request_id], qos=1)
            time.sleep(2.0)
        raise AssertionError(f"no answer to {request_id} within {timeout} s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.timeout(1800)  # a hundred cuts with --run-slow
def test_power_cuts_during_a_config_push_leave_one_whole_config_that_agrees_with_the_answer(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Promise: the power cut at a step of a config push (the backup, the trial marker, the new file, the restart
    on it, the confirmation): the config in force is the pushed one or the previous one, whole; the hypervisor's
    answer agrees with it (applied: the pushed one; rolled back: the previous); one answer per request."""
    count = _cut_count(request, default=2, slow=20)
    commands = "[upstream.commands]\ntrial_seconds = 3\n"
    with _agent_on_disk(tmp_path, 99 + count, full_run=_full_run(request), extra=commands) as (cuts, rig):
        commander = Commander(rig.upstream.port, rig.capture)
        disagreements: list[str] = []
        outcomes: dict[str, int] = {}
        try:
            for index in range(count):
                cuts.wait_committing()
                previous = cuts.config.read_text()
                pushed = previous.replace("reconnect_max = ", f"reconnect_max = 1.{index + 1}0\n# was ", 1)
                if index % 2 == 0:  # just after the hypervisor was told: the answer must hold after the cut
                    request_id = commander.send("config_push", {"config": pushed})
                    answer = commander.answer(request_id)
                    cuts.cut("config push answered")
                else:  # at a step of the push
                    cuts.disk.arm("*", "*site.toml*", cuts.rng.randint(1, 21), after=cuts.rng.random() < 0.5)
                    request_id = commander.send("config_push", {"config": pushed})
                    cuts.cut("config-push trial", wait=15)
                    answer = commander.answer(request_id)
                wait_until(lambda: not cuts.config.with_name("site.toml.trial").exists(), timeout=30,
                           what="the trial over")
                in_force = cuts.config.read_text()
                state = "applied" if answer.get("ok") else str((answer.get("error") or {}).get("code"))
                outcomes[state] = outcomes.get(state, 0) + 1
                expected = pushed if answer.get("ok") else previous
                if in_force != expected:
                    which = {pushed: "the pushed one", previous: "the previous one"}.get(in_force, "neither")
                    disagreements.append(f"push {index}: answer {state}, the config in force is {which}")
                if len({json.dumps(a, sort_keys=True) for a in commander.answers(request_id)}) > 1:
                    disagreements.append(f"push {index}: different answers to one request")
            verdict = _audit_after_cuts(cuts, rig)
        finally:
            commander.close()
    _record("power cuts: config-push trial", "the config in force is whole and agrees with the answer, commits "
            "that returned are delivered", cuts, verdict, pushes=count, answers=outcomes,
            config_disagreeing_with_answer=len(disagreements))
    assert not disagreements, "PROMISE BROKEN: " + "; ".join(disagreements)
    _assert(verdict)


# -- teeth ------------------------------------------------------------------------------------------


def test_the_power_cut_audit_fails_an_agent_whose_commits_are_not_synced(tmp_path: Path, broker: Broker) -> None:
    """Teeth: the agent with ``synchronous = "normal"`` (SQLite does not sync the WAL at each commit) loses
    commits that returned when the power goes; the audit must see it (records lost, or numbers handed out again)."""
    capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    with power_cut_disk(tmp_path / "disk") as disk:
        site = disk.mountpoint / "site"
        site.mkdir()
        config = write_site(site, broker_port=broker.port, store='synchronous = "normal"')
        sync_tree(site)
        log = tmp_path / "agent.log"
        cuts = PowerCuts(disk, config, log, AgentProcess(config, log=log), random.Random(3))
        try:
            cuts.start()
            cuts.wait_committing(60)
            cuts.cut("unsynced commits")
            cuts.wait_committing(60)
            with contextlib.suppress(AssertionError):
                _drain(cuts, capture, timeout=10)
            cuts.stop()
            verdict = audit(cuts, capture.records())
        finally:
            capture.close()
            cuts.close_reader()
            if cuts.agent.proc is not None:
                cuts.agent.kill()
    reused = len(cuts.ledger.reused)
    figures.record("teeth: power cuts with synchronous = normal",  # lost: gone, or their number handed out again
                   promise="the power-cut audit catches unsynced commits", faults=cuts.cuts, checked=verdict.checked,
                   lost=len(verdict.lost) + reused, duplicated=verdict.duplicated, never_delivered=len(verdict.lost),
                   numbers_handed_out_again=reused, detected=bool(verdict.lost or verdict.went_back))
    assert verdict.lost or verdict.went_back, "the audit did not notice commits lost by a power cut"
