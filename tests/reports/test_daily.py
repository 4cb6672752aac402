"""The daily ``reports`` message: when each day is due, made once (not again after a restart), committed to the
store first, and sent on its own topic through a real Mosquitto when the uplink comes back, valid against
docs/schemas/reports.json."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest

from edge_agent.clock import FakeClock
from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.config.store import StoreConfig
from edge_agent.logs import capture_logs
from edge_agent.reading import Event, Priority, Reading, Record
from edge_agent.reports import daily
from edge_agent.reports.process import ReportFailed, ReportProcess
from edge_agent.reports.report_service import DailyReports
from edge_agent.services import ServiceContext
from edge_agent.store.history import HistoryReader
from edge_agent.store.rows import StoredRecord
from edge_agent.store.store import Store
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import split_reports
from tests.contract.support import Schemas
from tests.lorawan.support import wait_until as wait_until_async
from tests.reports.support import at, commit, meter, set_level, write_site
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.mqtt import Capture
from tests.support.site import write_site as write_agent_site

D = date(2026, 11, 10)


def test_a_day_is_due_once_its_night_has_ended(tmp_path: Path) -> None:
    config = write_site(tmp_path)
    assert daily.due_day(at(date(2026, 11, 11), 12, 29), config) == date(2026, 11, 9)
    assert daily.due_day(at(date(2026, 11, 11), 12, 30), config) == D
    assert daily.due_day(at(date(2026, 10, 25), 12, 30), config) == date(2026, 10, 24)  # 25-hour night
    late = at(date(2026, 11, 20), 13)
    assert daily.days_due(late, config, date(2026, 11, 17)) == [date(2026, 11, 18), date(2026, 11, 19)]
    assert daily.days_due(late, config, None)[0] == date(2026, 11, 12)  # catch_up_days = 7 back
    assert daily.days_due(late, config, date(2026, 11, 19)) == []


def day_records() -> list[Record]:
    d1 = D + timedelta(days=1)
    return [
        set_level(at(D, 12, 30), "rue", "armoire", 0, "program coupure"),
        set_level(at(D, 17, 30), "rue", "armoire", 100, "program coupure"),
        set_level(at(D, 23), "rue", "armoire", 0, "program coupure"),
        meter(at(D, 12), 100.0), meter(at(D, 17, 30), 100.0), meter(at(D, 23), 105.5), meter(at(d1, 12), 105.5),
        Reading("bac-1", "fill_level", 40.0, at(D, 8), "%"), Reading("bac-1", "fill_level", 85.0, at(D, 20), "%"),
        Reading("compteur-place", "count_a", 12, at(D, 8, 10)),
    ]


class StoreSink:
    """The committer's part: records submitted are committed to the store."""

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.submitted: list[Record] = []

    async def submit(self, records: Sequence[Record]) -> list[int]:
        self.submitted.extend(records)
        store = Store.open(StoreConfig(path=self.config.store.path, synchronous="normal"))
        try:
            return store.append(records)
        finally:
            store.close()


def _service(folder: Path, sink: StoreSink, clock: FakeClock) -> DailyReports:
    """The service as the agent builds it: each report composed in a process of its own, from the site file."""
    loaded = load_config(folder / "site.toml")
    return DailyReports(ServiceContext(config=loaded.config, sink=sink, clock=clock),
                        ReportProcess(loaded.path, loaded.sha256, "json"))


def test_the_service_reports_each_day_once_and_not_again_after_a_restart(tmp_path: Path) -> None:
    config = write_site(tmp_path, BIN_AND_COUNTER)
    commit(config, day_records())
    clock, sink = FakeClock(at(D + timedelta(days=1), 12, 0)), StoreSink(config)
    service = _service(tmp_path, sink, clock)
    assert asyncio.run(service.check()) == []  # the 10th is not due before 12:30 on the 11th
    clock.set_synced(False)
    clock.advance(45 * 60)
    assert asyncio.run(service.check()) == []  # nor while the clock cannot be trusted
    clock.set_synced(True)
    assert asyncio.run(service.check()) == [D]  # days before held nothing: no report for them
    [event] = sink.submitted
    assert isinstance(event, Event) and event.kind == "report.daily" and event.priority is Priority.INFO
    data = event.data
    assert data["day"] == "2026-11-10" and data["made_at"] == "2026-11-11T12:45+01:00"
    rue = next(g for g in data["energy"]["groups"] if g["group"] == "rue")
    assert rue["energy_kwh"] == 5.5 and rue["hours"]["full"] == 5.5
    assert [b["device"] for b in data["waste"]["to_collect"]] == ["bac-1"]
    assert data["waste"]["collect_on"] == "2026-11-12"
    assert data["mobility"]["counters"][0]["daily"] == {"2026-11-10": 12}
    ids = {e["id"] for e in data["fiware"]["entities"]}
    assert {"urn:ngsi-ld:StreetlightGroup:gw-reports:rue", "urn:ngsi-ld:WasteContainer:gw-reports:bac-1"} <= ids
    assert asyncio.run(service.check()) == []
    restarted = _service(tmp_path, sink, clock)
    clock.advance(3600)
    assert asyncio.run(restarted.check()) == []  # found in the store: not made twice
    assert len(sink.submitted) == 1
    # Stopped for two days that held data: both are made when it starts again, oldest first.
    commit(config, [_moved(record, days * 86_400.0) for days in (1, 2) for record in day_records()])
    clock.advance(2 * 86_400.0)
    again = _service(tmp_path, sink, clock)
    assert asyncio.run(again.check()) == [D + timedelta(days=1), D + timedelta(days=2)]


def test_a_report_leaves_alone_in_the_events_lane_order() -> None:
    def stored(seq: int, kind: str) -> StoredRecord:
        return StoredRecord(seq, Event(kind, 0.0), sent=False)

    events = [stored(1, "alarm.raised"), stored(2, "report.daily"), stored(3, "alarm.cleared")]
    assert split_reports(events) == (Lane.EVENTS, events[:1])
    assert split_reports(events[1:]) == (Lane.REPORTS, events[1:2])
    assert split_reports(events[2:]) == (Lane.EVENTS, events[2:])


BIN_AND_COUNTER = """
[[devices]]
driver = "simulated"
name = "bac-1"
poll_interval = 3600
points = [{ name = "fill_level", unit = "%" }]
position = { latitude = 48.7331, longitude = 3.5612 }

[[devices]]
driver = "simulated"
name = "compteur-place"
poll_interval = 3600
points = [{ name = "temperature" }]
"""

LIGHTING = """
[reports.energy]
tariff_eur_per_kwh = 0.20

[[lighting.programs]]
name = "coupure"
periods = [{ start = "sunset", end = "23:00", level = 100 }, { start = "05:00", end = "sunrise", level = 100 }]

[[lighting.calendars]]
name = "voirie"
rules = [{ program = "coupure" }]

[[lighting.groups]]
name = "rue"
calendar = "voirie"
power_w = 1000
meters = [{ device = "compteur", point = "import_active_energy" }]
members = [{ device = "armoire", point = "circuit1_level" }]
"""

DEVICES = """
[[devices]]
driver = "simulated"
name = "armoire"
poll_interval = 3600
points = [{ name = "temperature" }]

[[devices]]
driver = "simulated"
name = "compteur"
poll_interval = 3600
points = [{ name = "voltage" }]
""" + BIN_AND_COUNTER


def test_the_daily_message_is_kept_while_the_uplink_is_down_then_sent_and_valid(tmp_path: Path, broker: Broker
                                                                                ) -> None:
    site = write_agent_site(tmp_path, broker_port=broker.port, devices=DEVICES, extra=LIGHTING)
    config = load_config(site).config
    day = daily.due_day(time.time(), config)
    shift = (day - D).days * 86_400.0
    commit(config, [_moved(record, shift) for record in day_records()])  # the day before, as the agent kept it
    hypervisor = Capture(broker.port, "fute/#", client_id="hypervisor", clean=False)
    broker.stop()  # the uplink is down when the report is made
    agent = AgentProcess(site).start()
    try:
        db = tmp_path / "store.db"
        query = "SELECT seq, sent FROM records WHERE kind=1 AND point='report.daily'"
        wait_until(lambda: store_rows(db, query), timeout=30, what="the report committed")
        [(seq, sent)] = store_rows(db, query)
        assert sent == 0
        broker.start()
        hypervisor.wait_for(lambda ms: [m for m in ms if m.topic == "fute/gw-test/reports"], timeout=30)
        wait_until(lambda: store_rows(db, query) == [(seq, 1)], timeout=15, what="the report acknowledged")
        assert agent.proc is not None
        assert "matplotlib" not in Path(f"/proc/{agent.proc.pid}/maps").read_text()  # the daemon draws nothing
    finally:
        agent.terminate()
        hypervisor.close()
    [message] = [m.json() for m in hypervisor.snapshot("fute/gw-test/reports")]
    Schemas().check("reports", message)
    [record] = message["records"]
    assert (message["lane"], record["seq"], record["event"]) == ("reports", seq, "report.daily")
    assert record["data"]["day"] == day.isoformat()
    assert next(g for g in record["data"]["energy"]["groups"] if g["group"] == "rue")["energy_kwh"] == 5.5
    others = [json.loads(m.payload) for m in hypervisor.snapshot("fute/gw-test/events")]
    assert all(r["event"] != "report.daily" for batch in others for r in batch["records"])


def _moved(record: Record, seconds: float) -> Record:
    from dataclasses import replace

    if isinstance(record, Reading):  # a named tuple
        return record._replace(ts=record.ts + seconds)
    return replace(record, ts=record.ts + seconds)


def _report_process(folder: Path, timeout: float = 600.0) -> ReportProcess:
    loaded = load_config(folder / "site.toml")
    return ReportProcess(loaded.path, loaded.sha256, "json", timeout)


def test_the_report_process_composes_what_the_reports_code_composes_in_process(tmp_path: Path) -> None:
    """The child reads the same config and store: its document is the in-process composition, through JSON."""
    config = write_site(tmp_path, BIN_AND_COUNTER)
    commit(config, day_records())
    made_at = at(D + timedelta(days=1), 12, 45)
    reader = HistoryReader(config.store.path)
    try:
        here = daily.compose(config, reader, D, made_at)
    finally:
        reader.close()
    assert here is not None
    composed = asyncio.run(_report_process(tmp_path)(D, made_at))
    assert composed == json.loads(json.dumps(here))
    assert asyncio.run(_report_process(tmp_path)(D - timedelta(days=3), made_at)) is None  # a day that held nothing


def test_the_daemon_side_never_loads_the_reports_code(tmp_path: Path) -> None:
    """The process that asks for the report (the daemon) gets its data without importing what composes it."""
    config = write_site(tmp_path, BIN_AND_COUNTER)
    commit(config, day_records())
    script = ("import asyncio, sys\nfrom datetime import date\nfrom pathlib import Path\n"
              "from edge_agent.config import mode\nmode.use_compiled()\n"
              "from edge_agent.config.load import load_config\nfrom edge_agent.reports.process import ReportProcess\n"
              f"loaded = load_config(Path({str(tmp_path / 'site.toml')!r}))\n"
              "data = asyncio.run(ReportProcess(loaded.path, loaded.sha256, 'json')"
              f"(date.fromisoformat({D.isoformat()!r}), {at(D + timedelta(days=1), 12, 45)!r}))\n"
              "print(data['day'], *sorted(m for m in sys.modules if m.startswith('edge_agent.reports')))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    day, *loaded = done.stdout.split()
    assert day == D.isoformat() and "edge_agent.reports.process" in loaded
    composing = ("daily", "energy", "waste", "mobility", "fiware", "encode", "inputs")
    assert [m for m in loaded if m.rsplit(".", 1)[-1] in composing] == []


def test_a_config_changed_since_the_start_is_refused_with_the_fix_named(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A site file edited under a running agent is not the config it runs: the report is not made with it, the
    child says so in the agent's log, and the service tries again later."""
    config = write_site(tmp_path, BIN_AND_COUNTER)
    commit(config, day_records())
    composer = _report_process(tmp_path)
    site = tmp_path / "site.toml"
    site.write_text(site.read_text() + "\n# edited on site\n")
    with pytest.raises(ReportFailed, match="exited with status 1"):
        asyncio.run(composer(D, at(D + timedelta(days=1), 12, 45)))
    [line] = [json.loads(line) for line in capfd.readouterr().err.splitlines() if "daily_report_failed" in line]
    assert line["day"] == D.isoformat()
    assert "changed since the agent started" in line["reason"] and "edge-agent config check" in line["reason"]


def test_a_report_process_that_gives_no_answer_in_time_is_stopped(tmp_path: Path) -> None:
    config = write_site(tmp_path, BIN_AND_COUNTER)
    commit(config, day_records())
    with pytest.raises(ReportFailed, match="no answer in 0 s"):
        asyncio.run(_report_process(tmp_path, timeout=0.01)(D, at(D + timedelta(days=1), 12, 45)))
    wait_until(lambda: not _children_running("edge_agent.reports.process", str(tmp_path)), timeout=10,
               what="the report's process gone")


def _children_running(*words: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(word in text for word in words):
            return True
    return False


def test_a_failed_report_is_logged_and_tried_again_an_hour_later(tmp_path: Path) -> None:
    """The service's loop: the report's process refuses a site file edited under the agent; the agent counts the
    failure, logs why, asks for nothing more for an hour, then makes the report once the file is its config again."""
    config = write_site(tmp_path, BIN_AND_COUNTER)
    commit(config, day_records())
    clock, sink = FakeClock(at(D + timedelta(days=1), 12, 45)), StoreSink(config)
    service = _service(tmp_path, sink, clock)
    site = tmp_path / "site.toml"
    original = site.read_text()
    site.write_text(original + "\n# edited on site\n")

    async def scenario() -> None:
        with capture_logs() as logs:
            await service.start()
            try:
                await wait_until_async(lambda: service.failed == 1, timeout=60)
            finally:
                await service.stop()
        [failed] = [e for e in logs if e["event"] == "daily_report_failed"]
        assert "exited with status 1" in failed["reason"] and failed["retry_s"] == 3600.0
        assert service.health() == {"made": 0, "failed": 1, "last_day": None}
        site.write_text(original)
        assert await service.check() == []  # within the hour: not tried again
        clock.advance(3600)
        assert await service.check() == [D]

    asyncio.run(scenario())
    assert [event.data["day"] for event in sink.submitted if isinstance(event, Event)] == [D.isoformat()]


def test_a_report_process_that_cannot_start_fails_with_the_reason(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No interpreter where the agent was started from (an upgrade that removed it under a running agent): the
    report fails with the reason, for the service to log and try again, not with a traceback."""
    write_site(tmp_path, BIN_AND_COUNTER)
    composer = _report_process(tmp_path)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python3"))
    with pytest.raises(ReportFailed, match=r"cannot start the report's process \(.*No such file"):
        asyncio.run(composer(D, at(D + timedelta(days=1), 12, 45)))
