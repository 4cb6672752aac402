"""From one MQTT message to the records it yields. Pure: no I/O, the clock is injected."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from edge_agent.catalog import Catalog
from edge_agent.clock import Clock, plausible
from edge_agent.logs import get_logger
from edge_agent.lorawan import records
from edge_agent.lorawan.codec_api import CodecOptions, DecodeError
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.lorawan.decoders import DeviceDecoder, UnusableDecoder, decoder_for
from edge_agent.lorawan.event_parsing import parse_event
from edge_agent.lorawan.events import (
    ChirpstackEvent,
    Encoding,
    EventError,
    Join,
    Status,
    UplinkFrame,
    parse_topic,
)
from edge_agent.lorawan.uplinks import Dedup, DeviceTable, RadioTrack, alarm_changes
from edge_agent.reading import Event, Priority, Quality, Reading, Record
from edge_agent.safe_text import safe_text

log = get_logger(__name__)


@dataclass
class Outcome:
    """What one message gave: records to commit, and the parsed event (for downlink tracking)."""

    records: list[Record] = field(default_factory=list)
    event: ChirpstackEvent | None = None


def codec_options(device: LorawanDeviceConfig) -> CodecOptions:
    if device.bin is None:
        return CodecOptions()
    return CodecOptions(device.bin.d_empty_mm, device.bin.d_full_mm, device.bin.sensor_offset_mm)


_OUTCOMES = ("messages", "uplinks", "duplicates", "unknown_device", "undecodable", "malformed", "ignored",
             "object_fields_missing")


class EventIntake:
    """Parses, deduplicates, decodes and bookkeeps; ``counters`` says what happened to every message."""

    def __init__(self, devices: list[LorawanDeviceConfig], catalog: Catalog, clock: Clock,
                 encoding: Encoding, *, max_payload: int = 65536, dedup_size: int = 4096) -> None:
        self.table = DeviceTable(devices, clock.monotonic())
        self.decoders: dict[str, DeviceDecoder] = {d.name: decoder_for(d, catalog) for d in devices}
        for name, decoder in self.decoders.items():
            if isinstance(decoder, UnusableDecoder):
                state = self.table.by_name(name)
                assert state is not None
                state.problem = decoder.problem
                log.error("lorawan_device_unusable", device=name, problem=decoder.problem)
        self._options = {d.name: codec_options(d) for d in devices}
        self._clock = clock
        self._encoding: Encoding = encoding
        self._max_payload = max_payload
        self._dedup = Dedup(dedup_size)
        # The outcomes a technician looks for are present from the start, at zero, not only once they happened.
        self.counters: Counter[str] = Counter(dict.fromkeys(_OUTCOMES, 0))

    def handle(self, topic: str, payload: bytes) -> Outcome:
        self.counters["messages"] += 1
        now, synced = self._clock.now(), self._clock.synced()
        topic = safe_text(topic)
        try:
            if len(payload) > self._max_payload:
                raise EventError(f"message of {len(payload)} bytes is over the {self._max_payload}-byte limit")
            parsed_topic = parse_topic(topic)
            event = parse_event(parsed_topic, payload, self._encoding)
        except EventError as exc:
            self.counters["malformed"] += 1
            if self.counters["malformed"] in (1, 10, 100) or self.counters["malformed"] % 1000 == 0:
                log.warning("lorawan_malformed_message", topic=topic[:200], reason=str(exc),
                            count=self.counters["malformed"])
            return Outcome([records.malformed(topic, payload, str(exc), now, synced)])
        if event is None:
            self.counters["ignored"] += 1
            return Outcome()
        if isinstance(event, UplinkFrame):
            return Outcome(self._uplink(event, now, synced), event)
        self.counters[f"event_{type(event).__name__.lower()}"] += 1
        state = self.table.by_eui(event.dev_eui)
        if state is None:
            return Outcome([], event)
        if isinstance(event, Status) and event.battery_percent is not None:
            return Outcome([self._battery(state, event.battery_percent, now, synced)], event)
        if isinstance(event, Join):
            log.info("lorawan_device_joined", device=state.config.name, dev_addr=event.dev_addr)
            return Outcome([Event("device_joined", now, Priority.INFO, state.config.name,
                                  f"{state.config.name} joined the network", {"dev_addr": event.dev_addr},
                                  synced)], event)
        return Outcome([], event)

    def _battery(self, state: RadioTrack, percent: float, now: float, synced: bool) -> Reading:
        """A status event's battery level; one outside 0-100 % is kept as a BAD reading, never as the level."""
        if 0.0 <= percent <= 100.0:
            state.battery_percent = percent
            return Reading(state.config.name, "battery", percent, now, "%", clock_synced=synced)
        self.counters["bad_battery"] += 1
        log.warning("lorawan_battery_out_of_range", device=state.config.name, percent=str(percent))
        value = percent if math.isfinite(percent) else None
        return Reading(state.config.name, "battery", value, now, "%", Quality.BAD, synced)

    def _uplink(self, uplink: UplinkFrame, now: float, synced: bool) -> list[Record]:
        if self._dedup.seen(uplink.deduplication_id):
            self.counters["duplicates"] += 1
            state = self.table.by_eui(uplink.dev_eui)
            if state is not None:
                state.duplicates += 1
            return []
        state = self.table.by_eui(uplink.dev_eui)
        ts = now if uplink.time is None or not plausible(uplink.time) else uplink.time
        if state is None:
            self.counters["unknown_device"] += 1
            if self.counters["unknown_device"] in (1, 10, 100) or self.counters["unknown_device"] % 1000 == 0:
                log.warning("lorawan_unknown_device", dev_eui=uplink.dev_eui, count=self.counters["unknown_device"])
            return [records.unknown_device(uplink, ts, synced)]
        if state.f_cnt is not None and uplink.f_cnt == state.f_cnt:
            # the frame already stored (a redelivery after a crash, or a retransmission): not a new reading
            self.counters["duplicates"] += 1
            state.duplicates += 1
            return []
        self.counters["uplinks"] += 1
        out = self._known_uplink(state, uplink, ts, synced)
        if uplink.time is not None and ts != uplink.time:
            out.append(self._time_replaced(state.config.name, uplink, now, synced))
        return out

    def _time_replaced(self, device: str, uplink: UplinkFrame, now: float, synced: bool) -> Event:
        """The uplink's time is not one this gateway can have seen: its records carry the receive time instead."""
        self.counters["time_replaced"] += 1
        given = f"{uplink.time!r}"[:40]
        if self.counters["time_replaced"] in (1, 10, 100) or self.counters["time_replaced"] % 1000 == 0:
            log.warning("lorawan_time_out_of_range", device=device, time=given, count=self.counters["time_replaced"])
        return Event("uplink_time_replaced", now, Priority.WARNING, device,
                     f"uplink of {device} (fCnt {uplink.f_cnt}) is dated outside 2000-2100: stamped with the"
                     " receive time", {"device_time": given, "f_cnt": uplink.f_cnt}, synced)

    def _known_uplink(self, state: RadioTrack, uplink: UplinkFrame, ts: float, synced: bool) -> list[Record]:
        name = state.config.name
        previous = state.f_cnt
        was_silent = state.silent
        check = self.table.heard(state, f_cnt=uplink.f_cnt, radio=uplink.radio, wall=ts,
                                 mono=self._clock.monotonic())
        state.application_id = uplink.application_id
        out: list[Record] = records.radio_readings(name, uplink, ts, synced)
        out += records.fcnt_events(name, uplink, previous=previous, lost=check.lost, reset=check.reset,
                                   ts=ts, synced=synced)
        if was_silent:
            state.silent = False
            log.info("lorawan_device_heard_again", device=name)
            out.append(records.silence_event(name, False, 0.0, ts, synced))
        if uplink.f_port == 0:
            return out  # MAC commands only: nothing for a codec
        try:
            decoded, missing = self.decoders[name].decode(uplink, self._options[name])
        except DecodeError as exc:
            state.decode_errors += 1
            self.counters["undecodable"] += 1
            if state.decode_errors in (1, 10, 100) or state.decode_errors % 1000 == 0:
                log.warning("lorawan_undecodable", device=name, f_port=uplink.f_port, reason=str(exc),
                            payload=uplink.data[:64].hex(), count=state.decode_errors)
            out.append(records.undecodable(name, uplink, str(exc), ts, synced))
            return out
        if missing:
            state.missing_fields += missing
            self.counters["object_fields_missing"] += missing
        if decoded.battery_percent is not None:
            state.battery_percent = decoded.battery_percent
        out += records.point_readings(name, decoded, ts, synced)
        out += records.past_events(name, decoded, ts, synced)
        for alarm, raised in alarm_changes(state, decoded.alarms):
            log.warning("lorawan_alarm", device=name, alarm=alarm, raised=raised)
            out.append(records.alarm_event(name, alarm, raised, ts, synced))
        return out

    def unusable_events(self) -> list[Record]:
        """One alarm per device whose codec cannot be used (at start: its uplinks are kept raw, not decoded)."""
        now, synced = self._clock.now(), self._clock.synced()
        return [Event("device_unusable", now, Priority.ALARM, state.config.name,
                      f"{state.config.name}: uplinks are kept but not decoded: its codec '{state.config.codec}'"
                      f" cannot be used: {state.problem}", {"codec": state.config.codec, "problem": state.problem},
                      synced)
                for state in self.table.all() if state.problem is not None]

    def silence(self) -> list[Record]:
        """Events for devices that went silent or came back since the last call."""
        now_mono, now, synced = self._clock.monotonic(), self._clock.now(), self._clock.synced()
        out: list[Record] = []
        for state in self.table.silence_changes(now_mono):
            quiet = now_mono - state.heard_mono
            if state.silent:
                log.warning("lorawan_device_silent", device=state.config.name, quiet_seconds=round(quiet))
            out.append(records.silence_event(state.config.name, state.silent, quiet, now, synced))
        return out
