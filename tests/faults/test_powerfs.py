"""The power-cut filesystem itself, and the agent's durable writes on it.

The layer must lose exactly what a power cut loses: a write not synced, a name whose directory was not synced; and
keep what was synced. SQLite must find on it what it finds on a disk: every commit that returned with
``synchronous=FULL`` survives, and with ``synchronous=OFF`` commits that returned are lost (the layer has teeth).
Then ``edge_agent.durable.write_atomically`` is cut at each of its steps: the file is always the old content or the
new, whole; a rename without the directory sync is shown to come undone.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.durable import sync_directory
from tests.faults import figures
from tests.faults.powerfs import PowerCutDisk, power_cut_disk
from tests.faults.powerfs.model import Disk

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[PowerCutDisk]:
    with power_cut_disk(tmp_path / "mnt") as mounted:
        yield mounted


def _write(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


_sync_dir = sync_directory


def test_a_write_not_synced_is_gone_after_a_cut_and_a_synced_one_survives(disk: PowerCutDisk) -> None:
    root = disk.mountpoint
    _write(root / "kept", b"synced", sync=True)
    _write(root / "lost", b"old", sync=True)
    _sync_dir(root)
    with open(root / "lost", "r+b") as handle:  # rewritten, never synced
        handle.write(b"new content")
    with open(root / "kept", "ab") as handle:  # appended and synced
        handle.write(b" and more")
        handle.flush()
        os.fdatasync(handle.fileno())
    assert (root / "lost").read_bytes() == b"new content"
    loss = disk.cut()
    assert (root / "kept").read_bytes() == b"synced and more"
    assert (root / "lost").read_bytes() == b"old"
    assert loss["lost_pages"] >= 1


def test_a_new_name_survives_only_when_its_directory_is_synced(disk: PowerCutDisk) -> None:
    root = disk.mountpoint
    (root / "sub").mkdir()
    _sync_dir(root)
    _write(root / "sub" / "unnamed", b"data synced, name not", sync=True)
    _write(root / "sub" / "named", b"both synced", sync=True)
    _sync_dir(root / "sub")
    _write(root / "sub" / "late", b"after the directory sync", sync=True)
    disk.cut()
    assert sorted(os.listdir(root / "sub")) == ["named", "unnamed"]
    assert (root / "sub" / "named").read_bytes() == b"both synced"
    assert not (root / "sub" / "late").exists()


def test_a_rename_unlink_or_truncate_without_its_sync_comes_undone(disk: PowerCutDisk) -> None:
    root = disk.mountpoint
    _write(root / "config", b"old config", sync=True)
    _write(root / "gone", b"still here", sync=True)
    _write(root / "long", b"x" * 10_000, sync=True)
    _sync_dir(root)
    _write(root / "config.tmp", b"new config", sync=True)
    os.replace(root / "config.tmp", root / "config")  # no directory sync
    (root / "gone").unlink()
    os.truncate(root / "long", 10)
    assert (root / "config").read_bytes() == b"new config" and not (root / "gone").exists()
    disk.cut()
    assert (root / "config").read_bytes() == b"old config"
    assert not (root / "config.tmp").exists()
    assert (root / "gone").read_bytes() == b"still here"
    assert (root / "long").stat().st_size == 10_000


def test_the_power_goes_off_at_the_armed_change_and_later_changes_never_land(disk: PowerCutDisk) -> None:
    """A writer in its own process: the power goes off at its 3rd write; it blocks there; after the kill and the
    cut only what it synced before remains, and reads went on meanwhile."""
    root = disk.mountpoint
    disk.arm("write", "log", count=3)
    script = ("import os,sys\nfd=os.open(sys.argv[1],os.O_WRONLY|os.O_CREAT,0o644)\n"
              "os.write(fd,b'one;');os.write(fd,b'two;');os.fsync(fd)\n"
              "d=os.open(os.path.dirname(sys.argv[1]),os.O_RDONLY);os.fsync(d)\n"
              "for word in (b'three;',b'four;'):\n os.write(fd,word)\nos.fsync(fd)\n")
    writer = subprocess.Popen([sys.executable, "-c", script, str(root / "log")])
    try:
        frozen = disk.wait_frozen(10)
        assert frozen == "at write /log"
        time.sleep(0.2)
        assert writer.poll() is None, "the writer went on past the power cut"
        assert (root / "log").read_bytes() == b"one;two;"  # reads still work
    finally:
        disk.kill_and_cut(writer)
    assert (root / "log").read_bytes() == b"one;two;"


def _sqlite_writer(db: Path, synchronous: str, count: int, witness: Path) -> subprocess.Popen[bytes]:
    """Commits ``count`` rows one by one, writing each number to ``witness`` (off the cut disk) once its COMMIT
    returned."""
    script = (
        "import sqlite3,sys,os\n"
        "conn=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
        "conn.execute('PRAGMA journal_mode=WAL');conn.execute('PRAGMA synchronous='+sys.argv[2])\n"
        "conn.execute('CREATE TABLE IF NOT EXISTS t(n INTEGER PRIMARY KEY, pad)')\n"
        "w=open(sys.argv[4],'a',buffering=1)\n"
        "for n in range(1,int(sys.argv[3])+1):\n"
        " conn.execute('INSERT INTO t VALUES (?,?)',(n,'x'*300));w.write(f'{n}\\n')\n"
    )
    return subprocess.Popen([sys.executable, "-c", script, str(db), synchronous, str(count), str(witness)])


def _cut_sqlite_writer(disk: PowerCutDisk, tmp: Path, synchronous: str, rng: random.Random) -> tuple[int, int]:
    """Cut the power at a random WAL change of a committing writer; return (commits returned, rows kept)."""
    db = disk.mountpoint / "t.db"
    setup = sqlite3.connect(db, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS t(n INTEGER PRIMARY KEY, pad)")
    setup.close()
    _sync_dir(disk.mountpoint)
    witness = tmp / f"witness-{synchronous}"
    witness.unlink(missing_ok=True)
    disk.arm(rng.choice(["write", "fsync"]), "t.db*", count=rng.randint(40, 400))
    writer = _sqlite_writer(db, synchronous, 2000, witness)
    try:
        disk.wait_frozen(30)
    finally:
        disk.kill_and_cut(writer)
    returned = len(witness.read_text().split()) if witness.exists() else 0
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = conn.execute("SELECT count(*) FROM t").fetchone()[0]
        conn.execute("DELETE FROM t")
        conn.commit()
    finally:
        conn.close()
    return returned, int(kept)


def test_sqlite_keeps_every_commit_that_returned_with_synchronous_full_and_loses_some_with_off(
        disk: PowerCutDisk, tmp_path: Path) -> None:
    """Teeth: the same writer, cut at random WAL changes. With FULL no commit that returned is lost; with OFF
    (no sync at all) the layer loses commits that returned, as a power cut would."""
    rng = random.Random(20)
    full = [_cut_sqlite_writer(disk, tmp_path, "FULL", rng) for _ in range(4)]
    off = [_cut_sqlite_writer(disk, tmp_path, "OFF", rng) for _ in range(2)]
    figures.record("power-cut layer: SQLite synchronous=FULL", promise="every commit that returned survives a cut",
                   faults=len(full), checked=sum(r for r, _ in full), lost=sum(max(r - k, 0) for r, k in full),
                   duplicated=0)
    figures.record("teeth: SQLite synchronous=OFF under power cuts", promise="the layer loses unsynced commits",
                   faults=len(off), checked=sum(r for r, _ in off), lost=sum(max(r - k, 0) for r, k in off),
                   duplicated=0)
    assert all(kept >= returned for returned, kept in full), f"PROMISE BROKEN: FULL lost commits: {full}"
    assert all(returned > 0 for returned, _ in full)
    assert any(kept < returned for returned, kept in off), f"the layer kept unsynced commits: {off}"


# -- the agent's durable writes --------------------------------------------------------------------

WRITER = ("import sys\nfrom pathlib import Path\nfrom edge_agent.durable import write_atomically\n"
          "write_atomically(Path(sys.argv[1]), sys.argv[2].encode())\nprint('done', flush=True)\n")


def _atomic_write_cut_at(disk: PowerCutDisk, target: Path, new: bytes, change: int, after: bool) -> bytes:
    """Arm the power to go off at the ``change``-th change of a write_atomically; return what survives."""
    disk.arm("*", "*", count=change, after=after)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), new.decode()], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        if disk.wait_frozen(10) is None:  # fewer changes than ``change``: the write completed
            disk.freeze()
    finally:
        disk.kill_and_cut(writer)
    return target.read_bytes() if target.exists() else b"<missing>"


def test_write_atomically_leaves_the_old_or_the_new_content_whole_whatever_the_moment_of_the_cut(
        disk: PowerCutDisk) -> None:
    """Cut before and after each change write_atomically makes (create, write, sync, chmod, rename, directory
    sync): the file is the old content or the new one, never missing or partial; once it returned, the new."""
    target = disk.mountpoint / "site.toml"
    old, new = b'gateway_id = "old"\n' * 50, b'gateway_id = "new"\n' * 80
    _write(target, old, sync=True)
    _sync_dir(disk.mountpoint)
    before = disk.status()["changes"]
    subprocess.run([sys.executable, "-c", WRITER, str(target), new.decode()], cwd=ROOT, check=True,
                   capture_output=True)
    steps = sum(disk.status()["changes"].values()) - sum(before.values())
    _write(target, old, sync=True)
    _sync_dir(disk.mountpoint)
    outcomes = []
    for change in range(1, steps + 1):
        for after in (False, True):
            outcomes.append(_atomic_write_cut_at(disk, target, new, change, after))
    figures.record("power cuts in an atomic file write", promise="the old content or the new, whole",
                   faults=len(outcomes), checked=len(outcomes), lost=sum(o not in (old, new) for o in outcomes),
                   duplicated=0, steps=steps)
    assert steps >= 5
    broken = [index for index, outcome in enumerate(outcomes) if outcome not in (old, new)]
    assert not broken, f"PROMISE BROKEN: a partial or missing file after cut(s) {broken} of {len(outcomes)}"
    assert outcomes[0] == old and outcomes[-1] == new, "the cut after the directory sync must keep the new file"
    leftovers = [name for name in os.listdir(disk.mountpoint) if name not in ("site.toml", ".site.toml.tmp")]
    assert not leftovers


def test_a_plain_replace_without_the_directory_sync_comes_undone_where_write_atomically_does_not(
        disk: PowerCutDisk) -> None:
    """Why the directory sync: the classic write-sync-rename, finished and returned, is undone by a cut."""
    target = disk.mountpoint / "store.db.seq"
    _write(target, b"100000\n", sync=True)
    _sync_dir(disk.mountpoint)
    _write(target.with_name("store.db.seq.tmp"), b"200000\n", sync=True)
    os.replace(target.with_name("store.db.seq.tmp"), target)
    disk.cut()
    assert target.read_bytes() == b"100000\n"
    subprocess.run([sys.executable, "-c", WRITER, str(target), "200000\n"], cwd=ROOT, check=True,
                   capture_output=True)
    disk.cut()
    assert target.read_bytes() == b"200000\n"


def test_the_model_syncs_whole_pages_through_shrinks_and_regrowth() -> None:
    """The page bookkeeping: a file shrunk then grown again, synced, must read back as the program saw it."""
    model = Disk()
    node = model.create("/f", 0o100644)
    model.write(node, b"a" * 10_000, 0)
    model.fsync(node)
    model.truncate(node, 100)
    model.write(node, b"b" * 10, 9_000)
    model.fsync(node)
    seen = bytes(node.data)
    model.fsync(model.lookup("/"))
    model.write(node, b"c" * 5000, 0)
    model.cut()
    assert bytes(model.lookup("/f").data) == seen
    assert seen[:100] == b"a" * 100 and seen[100:9000] == bytes(8900) and seen[9000:] == b"b" * 10
