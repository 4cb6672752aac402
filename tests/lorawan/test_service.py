"""End to end: ChirpStack v4 events published to a real Mosquitto, decoded, committed in a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge_agent.clock import FakeClock
from edge_agent.reading import Priority, Quality, Reading
from tests.lorawan.support import (
    APP,
    Publisher,
    StoreSink,
    encode,
    event_topic,
    make_service,
    site,
    uplink_event,
    wait_connected,
    wait_until,
)
from tests.support.broker import Broker

BIN = "a84041000181c5e1"
DF702 = "3836333031383632"
PCR2 = "70b3d58ff1000a11"
LIGHT = "24e124468c263551"

DEVICES: list[dict[str, Any]] = [
    {"driver": "lorawan", "name": "bin-mairie", "dev_eui": BIN.upper(), "codec": "milesight_em310_udl",
     "uplink_interval": 1200, "bin": {"d_empty_mm": 1500, "d_full_mm": 250}},
    {"driver": "lorawan", "name": "bin-ecole", "dev_eui": DF702, "codec": "dingtek_df702",
     "bin": {"d_empty_mm": 2500, "d_full_mm": 300}},
    {"driver": "lorawan", "name": "counter-place", "dev_eui": PCR2, "codec": "parametric_pcr2"},
    {"driver": "lorawan", "name": "light-rue", "dev_eui": LIGHT, "codec": "milesight_ws558", "application_id": APP},
]


_publishers: dict[int, Publisher] = {}


async def _publish(port: int, topic: str, payload: bytes) -> None:
    if port not in _publishers:
        _publishers[port] = Publisher(port)
    await _publishers[port].asend(topic, payload)


@pytest.fixture(autouse=True)
def _close_publishers() -> Iterator[None]:
    yield
    for publisher in _publishers.values():
        publisher.close()
    _publishers.clear()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_uplinks_are_decoded_and_committed(broker: Broker, tmp_path: Path, encoding: str) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def scenario() -> None:
        service = make_service(site(broker.port, DEVICES, encoding=encoding), sink)
        await service.start()
        try:
            await wait_connected(service)
            bin_up = uplink_event(BIN, "01756403825e01040000", f_cnt=7, f_port=85, rssi=-91, snr=6.5, sf=10)
            df_up = uplink_event(DF702, "8000010111025800190105011000000081", f_cnt=3, f_port=3)
            pcr_up = uplink_event(PCR2, "be01030001000200030004640ce40139", f_cnt=40, f_port=14)
            for dev_eui, event in ((BIN, bin_up), (DF702, df_up), (PCR2, pcr_up)):
                await _publish(broker.port, event_topic(dev_eui, "up"), encode(event, "up", encoding))
            await wait_until(lambda: "temperature" in sink.readings("counter-place"))
        finally:
            await service.stop()
        bin_readings = sink.readings("bin-mairie")
        assert bin_readings["fill_level"] == 92.0
        assert bin_readings["distance"] == 350
        assert bin_readings["battery"] == 100
        assert bin_readings["alarm.tilt"] is False
        assert bin_readings["lorawan.rssi"] == -91  # the best of the two gateways
        assert bin_readings["lorawan.snr"] == 6.5
        assert bin_readings["lorawan.spreading_factor"] == 10
        assert bin_readings["lorawan.f_cnt"] == 7
        assert bin_readings["lorawan.gateway"] == "0016c001ff10a236"
        assert bin_readings["lorawan.payload"] == "01756403825e01040000"
        df = sink.readings("bin-ecole")
        assert df["alarm.fire"] is True and df["tilt_angle"] == -5
        assert "fill_level" not in df  # tilted: the level is not trusted
        alarms = sink.events("device_alarm")
        assert {e.data["alarm"] for e in alarms} == {"fire", "tilt"}
        assert all(e.priority == Priority.ALARM for e in alarms)
        assert sink.readings("counter-place")["total_right_to_left"] == 4
        status = {s["device"]: s for s in service.devices_status()}
        assert status["bin-mairie"]["f_cnt"] == 7 and status["bin-mairie"]["battery_percent"] == 100
        assert status["bin-mairie"]["rssi"] == -91
        assert status["light-rue"]["last_seen"] is None
        reading_ts = [r.ts for r in sink.records() if r.device == "bin-mairie"]
        uplink_time = datetime(2026, 11, 28, 21, 0, 0, 123456, tzinfo=UTC).timestamp()
        assert reading_ts and all(ts == pytest.approx(uplink_time) for ts in reading_ts)  # the uplink's own time

    asyncio.run(scenario())
    sink.close()


def test_duplicates_gaps_and_counter_resets(broker: Broker, tmp_path: Path) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def scenario() -> dict[str, Any]:
        service = make_service(site(broker.port, DEVICES), sink)
        await service.start()
        try:
            await wait_connected(service)
            topic = event_topic(PCR2, "up")
            first = uplink_event(PCR2, "0a0001160002010023", f_cnt=10, f_port=14, dedup="dup-1")
            for event in (first, first, uplink_event(PCR2, "0a0002", f_cnt=13, f_port=14),
                          uplink_event(PCR2, "0a0003", f_cnt=1, f_port=14)):
                await _publish(broker.port, topic, encode(event, "up", "json"))
            await wait_until(lambda: sink.events("fcnt_reset"))
            return service.devices_status()[2]
        finally:
            await service.stop()

    status = asyncio.run(scenario())
    f_cnts = [r.value for r in sink.records() if getattr(r, "point", "") == "lorawan.f_cnt"]
    assert f_cnts == [10, 13, 1]
    (lost,) = sink.events("uplinks_lost")
    assert lost.data == {"lost": 2, "previous_f_cnt": 10, "f_cnt": 13}
    assert status["duplicates"] == 1 and status["lost_uplinks"] == 2 and status["counter_resets"] == 1
    sink.close()


def test_bad_messages_are_counted_and_stored_never_fatal(broker: Broker, tmp_path: Path) -> None:
    sink = StoreSink(tmp_path / "store.db")
    good = uplink_event(PCR2, "0a0001160002010023", f_cnt=1, f_port=14)
    wrong_types = dict(good, fCnt="many", deduplicationId="x1")
    bad: list[tuple[str, bytes]] = [
        (event_topic(PCR2, "up"), b"{not json"),
        (event_topic(PCR2, "up"), json.dumps(wrong_types).encode()),
        (event_topic(PCR2, "up"), json.dumps([1, 2, 3]).encode()),
        (event_topic(PCR2, "up"), b"{" + b" " * 200_000 + b"}"),
        (event_topic(PCR2, "up"), b"\xff\xfe\x00binary"),
        (f"application/{APP}/device/zz/event/up", b"{}"),
        (event_topic("0000000000000bad", "up"),
         json.dumps(uplink_event("0000000000000bad", "cafe", f_cnt=1, f_port=9)).encode()),
        (event_topic(PCR2, "up"), json.dumps(uplink_event(PCR2, "ff00", f_cnt=2, f_port=14)).encode()),
        (event_topic(PCR2, "up"), json.dumps(uplink_event(BIN, "0a00", f_cnt=2, f_port=14)).encode()),
    ]

    async def scenario() -> dict[str, Any]:
        service = make_service(site(broker.port, DEVICES), sink)
        await service.start()
        try:
            await wait_connected(service)
            for topic, payload in bad:
                await _publish(broker.port, topic, payload)
            await _publish(broker.port, event_topic(PCR2, "up"),
                           json.dumps(dict(good, fCnt=3)).encode())
            await wait_until(lambda: sink.readings("counter-place").get("lorawan.f_cnt") == 3)
            return service.health()
        finally:
            await service.stop()

    health = asyncio.run(scenario())
    counters = health["counters"]
    assert isinstance(counters, dict)
    assert counters["malformed"] == 7
    assert counters["unknown_device"] == 1
    assert counters["undecodable"] == 1
    assert sink.readings("counter-place")["count_left_to_right"] == 1
    (unknown,) = sink.events("uplink_unknown_device")
    assert unknown.priority == Priority.WARNING
    assert unknown.data["payload_hex"] == "cafe" and unknown.data["f_port"] == 9
    (undecodable,) = sink.events("uplink_undecodable")
    assert undecodable.device == "counter-place" and undecodable.data["payload_hex"] == "ff00"
    assert "unknown record" in undecodable.data["reason"]
    malformed = sink.events("uplink_malformed")
    assert len(malformed) == 7
    assert any("over the" in e.data["reason"] for e in malformed)
    assert all(len(e.data["payload_hex"]) <= 1024 for e in malformed)
    sink.close()


def test_uplinks_sent_while_the_agent_is_away_are_kept_by_the_broker(broker: Broker, tmp_path: Path) -> None:
    """Fixed client id + persistent session + QoS 1: the local broker holds uplinks across an agent restart."""
    sink = StoreSink(tmp_path / "store.db")
    config = site(broker.port, DEVICES)

    async def scenario() -> None:
        service = make_service(config, sink)
        await service.start()
        await wait_connected(service)
        await service.stop()
        for f_cnt in (5, 6):
            event = uplink_event(PCR2, "0a0001160002010023", f_cnt=f_cnt, f_port=14)
            await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", "json"))
        service = make_service(config, sink)
        await service.start()
        try:
            await wait_until(lambda: sink.readings("counter-place").get("lorawan.f_cnt") == 6)
        finally:
            await service.stop()

    asyncio.run(scenario())
    sink.close()


class _StuckSink(StoreSink):
    """A sink whose commit never finishes (a wedged disk)."""

    async def submit(self, records: Any) -> list[int]:
        await asyncio.Event().wait()
        return []


def test_a_message_is_acknowledged_only_after_its_records_are_committed(broker: Broker, tmp_path: Path) -> None:
    config = site(broker.port, DEVICES)
    stuck = _StuckSink(tmp_path / "stuck.db")
    sink = StoreSink(tmp_path / "store.db")

    async def scenario() -> None:
        service = make_service(config, stuck)
        await service.start()
        await wait_connected(service)
        event = uplink_event(PCR2, "0a0001160002010023", f_cnt=77, f_port=14)
        await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", "json"))
        await wait_until(lambda: service.health()["mqtt"]["received"] == 1)  # type: ignore[index]
        await service.stop()  # never committed, so never acknowledged
        service = make_service(config, sink)
        await service.start()
        try:
            await wait_until(lambda: sink.readings("counter-place").get("lorawan.f_cnt") == 77)
        finally:
            await service.stop()

    asyncio.run(scenario())
    sink.close()
    stuck.close()


def test_a_silent_device_raises_an_alarm_and_clears_it(broker: Broker, tmp_path: Path) -> None:
    sink = StoreSink(tmp_path / "store.db")
    clock = FakeClock()
    devices = [dict(DEVICES[2], uplink_interval=60, silent_after=2)]

    async def scenario() -> None:
        service = make_service(site(broker.port, devices), sink, clock)
        await service.start()
        try:
            await wait_connected(service)
            clock.advance(119)
            await asyncio.sleep(0.3)
            assert not sink.events("device_silent")
            clock.advance(2)
            await wait_until(lambda: sink.events("device_silent"))
            event = uplink_event(PCR2, "0a0001160002010023", f_cnt=1, f_port=14)
            await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", "json"))
            await wait_until(lambda: sink.events("device_heard_again"))
            await asyncio.sleep(0.3)
        finally:
            await service.stop()

    asyncio.run(scenario())
    (silent,) = sink.events("device_silent")
    assert silent.priority == Priority.ALARM and silent.device == "counter-place"
    assert len(sink.events("device_heard_again")) == 1
    sink.close()


def test_the_agent_reconnects_after_a_broker_restart_and_stores_status_and_join(broker: Broker,
                                                                               tmp_path: Path) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def scenario() -> None:
        service = make_service(site(broker.port, DEVICES), sink)
        await service.start()
        try:
            await wait_connected(service)
            await asyncio.to_thread(broker.restart)
            for stale in _publishers.values():
                stale.close()
            _publishers.clear()
            await wait_connected(service, timeout=20)
            status = {"deduplicationId": "s1", "deviceInfo": {"devEui": PCR2}, "margin": 7,
                      "batteryLevel": 87.5}
            join = {"deduplicationId": "j1", "deviceInfo": {"devEui": PCR2}, "devAddr": "01f2a3b4"}
            await _publish(broker.port, event_topic(PCR2, "status"), json.dumps(status).encode())
            await _publish(broker.port, event_topic(PCR2, "join"), json.dumps(join).encode())
            await wait_until(lambda: sink.events("device_joined"))
        finally:
            await service.stop()
        (state,) = [s for s in service.devices_status() if s["device"] == "counter-place"]
        assert state["battery_percent"] == 87.5

    asyncio.run(scenario())
    assert sink.readings("counter-place")["battery"] == 87.5
    sink.close()


def test_an_internal_error_costs_one_message_not_the_service(broker: Broker, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A codec-independent bug (simulated by breaking the radio-readings builder once) must not stop the intake."""
    from edge_agent.lorawan import intake

    sink = StoreSink(tmp_path / "store.db")
    original = intake.records.radio_readings
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original(*args, **kwargs)

    monkeypatch.setattr(intake.records, "radio_readings", flaky)

    async def scenario() -> dict[str, Any]:
        service = make_service(site(broker.port, DEVICES), sink)
        await service.start()
        try:
            await wait_connected(service)
            for f_cnt in (1, 2):
                event = uplink_event(PCR2, "0a0001160002010023", f_cnt=f_cnt, f_port=14)
                await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", "json"))
            await wait_until(lambda: sink.readings("counter-place").get("lorawan.f_cnt") == 2)
            return service.health()
        finally:
            await service.stop()

    health = asyncio.run(scenario())
    assert health["internal_errors"] == 1
    (failed,) = sink.events("uplink_malformed")
    assert "RuntimeError: boom" in failed.data["reason"]
    sink.close()


def test_an_uplink_already_stored_before_a_crash_is_not_stored_twice(broker: Broker, tmp_path: Path) -> None:
    """The agent died after committing an uplink but before acknowledging it to ChirpStack's broker: the broker
    delivers it again to the new agent, with the frame counter the store already holds. It is dropped, not
    stored under a second sequence number; the next frame is stored."""
    from edge_agent.reading import Reading

    sink = StoreSink(tmp_path / "store.db")
    sink.store.append([Reading("counter-place", "lorawan.f_cnt", 41, 1_790_000_000.0)])  # the previous run
    config = site(broker.port, DEVICES)
    config = config.model_copy(update={"store": config.store.model_copy(update={"path": tmp_path / "store.db"})})
    service = make_service(config, sink)

    async def scenario() -> None:
        await service.start()
        try:
            await wait_connected(service)
            again = uplink_event(PCR2, "0a0001160002010023", f_cnt=41, f_port=14)
            await _publish(broker.port, event_topic(PCR2, "up"), encode(again, "up", "json"))
            await wait_until(lambda: service.health()["counters"]["duplicates"] == 1)  # type: ignore[index]
            following = uplink_event(PCR2, "0a0002160002010023", f_cnt=42, f_port=14)
            await _publish(broker.port, event_topic(PCR2, "up"), encode(following, "up", "json"))
            await wait_until(lambda: sink.readings("counter-place").get("lorawan.f_cnt") == 42)
        finally:
            await service.stop()

    asyncio.run(scenario())
    frames = [r.value for r in sink.records() if isinstance(r, Reading) and r.point == "lorawan.f_cnt"]
    assert frames == [41, 42], "the redelivered frame 41 must not be stored a second time"
    sink.close()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_implausible_times_batteries_and_empty_bodies_are_flagged_not_taken(broker: Broker, tmp_path: Path,
                                                                            encoding: str) -> None:
    """Device times outside 2000-2100 are replaced by the receive time (an uplink_time_replaced event says so), a
    battery of -1e30 % or 1000 % is a BAD reading that never becomes the device's level, and an empty body is a
    malformed message, not an uplink of fCnt 0 that resets the counter."""
    sink = StoreSink(tmp_path / "store.db")
    stamps = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2150-06-01T00:00:00Z", "1999-12-31T23:59:59Z"]

    async def scenario() -> tuple[float, dict[str, Any]]:
        service = make_service(site(broker.port, DEVICES, encoding=encoding), sink)
        await service.start()
        try:
            await wait_connected(service)
            started = time.time()
            for f_cnt, stamp in enumerate(stamps, start=10):
                event = uplink_event(PCR2, "0a0001160002010023", f_cnt=f_cnt, f_port=14)
                event["time"] = stamp
                await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", encoding))
            for level in (-1e30, 1000.0, 64.0):
                status = {"deviceInfo": {"devEui": PCR2}, "margin": 7, "batteryLevel": level}
                await _publish(broker.port, event_topic(PCR2, "status"), encode(status, "status", encoding))
            for kind in ("up", "status"):
                await _publish(broker.port, event_topic(PCR2, kind), b"{}" if encoding == "json" else b"")
            last = uplink_event(PCR2, "0a0001160002010023", f_cnt=20, f_port=14)
            await _publish(broker.port, event_topic(PCR2, "up"), encode(last, "up", encoding))
            await wait_until(lambda: sink.readings("counter-place").get("lorawan.f_cnt") == 20)
            (state,) = [s for s in service.devices_status() if s["device"] == "counter-place"]
            return started, state
        finally:
            await service.stop()

    started, state = asyncio.run(scenario())
    readings = [r for r in sink.records() if isinstance(r, Reading) and r.device == "counter-place"]
    flagged = {r.value: r.ts for r in readings if r.point == "lorawan.f_cnt" and r.value in (10, 11, 12, 13)}
    assert len(flagged) == 4 and all(abs(ts - started) < 30 for ts in flagged.values()), flagged
    assert [e.data["f_cnt"] for e in sink.events("uplink_time_replaced")] == [10, 11, 12, 13]
    batteries = [(r.value, r.quality) for r in readings if r.point == "battery"]
    assert batteries == [(pytest.approx(-1e30), Quality.BAD), (1000.0, Quality.BAD), (64.0, Quality.GOOD)]
    assert state["battery_percent"] == 64.0
    assert sink.events("fcnt_reset") == []
    assert len(sink.events("uplink_malformed")) == 2
    sink.close()


class _GatedSink(StoreSink):
    """The real store, whose commits wait for ``gate`` (a slow group commit)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = asyncio.Event()

    async def submit(self, records: Any) -> list[int]:
        self.calls += 1
        await self.gate.wait()
        return await asyncio.to_thread(self.store.append, list(records))


def test_messages_are_taken_while_earlier_ones_wait_for_their_commit(broker: Broker, tmp_path: Path) -> None:
    """A message arriving while the one before waits for its group commit goes to the store at once (it would
    otherwise wait for two commits); neither is acknowledged before its records are committed."""
    sink = _GatedSink(tmp_path / "store.db")

    async def scenario() -> None:
        service = make_service(site(broker.port, DEVICES), sink)
        await service.start()
        try:
            await wait_connected(service)
            for f_cnt in (1, 2):
                event = uplink_event(PCR2, "0a0001160002010023", f_cnt=f_cnt, f_port=14)
                await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", "json"))
                await wait_until(lambda n=f_cnt: sink.calls >= n)  # type: ignore[misc]
            await asyncio.sleep(0.2)
            assert sink.calls == 2, "the second message was handed over while the first waited"
            assert service.health()["mqtt"]["acked"] == 0  # type: ignore[index]
            sink.gate.set()
            await wait_until(lambda: service.health()["mqtt"]["acked"] == 2)  # type: ignore[index]
        finally:
            await service.stop()

    asyncio.run(scenario())
    assert sink.readings("counter-place").get("lorawan.f_cnt") == 2
    sink.close()


@pytest.mark.parametrize(("commit_interval", "handed_over"), [(10.0, 12), (1.0, 8)])
def test_messages_arriving_during_one_long_commit_all_go_into_it(broker: Broker, tmp_path: Path,
                                                                 commit_interval: float, handed_over: int) -> None:
    """With commits 10 s apart (the SD-card setting) a trickle of uplinks, each its own submission, is handed over
    as it comes, none held back for the commit after; at 1 s the intake stops at 8 awaiting, so that a store that
    falls behind holds it back."""
    sink = _GatedSink(tmp_path / "store.db")
    config = site(broker.port, DEVICES)
    config = config.model_copy(update={"store": config.store.model_copy(update={"commit_interval": commit_interval})})

    async def scenario() -> None:
        service = make_service(config, sink)
        await service.start()
        try:
            await wait_connected(service)
            for f_cnt in range(1, 13):
                event = uplink_event(PCR2, "0a0001160002010023", f_cnt=f_cnt, f_port=14)
                await _publish(broker.port, event_topic(PCR2, "up"), encode(event, "up", "json"))
                await wait_until(lambda n=min(f_cnt, handed_over): sink.calls >= n)  # type: ignore[misc]
            await asyncio.sleep(0.3)
            assert sink.calls == handed_over
            sink.gate.set()
            await wait_until(lambda: service.health()["mqtt"]["acked"] == 12)  # type: ignore[index]
        finally:
            await service.stop()

    asyncio.run(scenario())
    counters = [r.value for r in sink.records() if isinstance(r, Reading) and r.point == "lorawan.f_cnt"]
    assert sorted(counters) == list(range(1, 13)), "every uplink committed once"  # type: ignore[type-var]
    sink.close()
