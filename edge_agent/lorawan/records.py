"""Turning an uplink into records: decoded points, radio metadata, and events with a clear reason. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from edge_agent.lorawan.codec_api import Decoded
from edge_agent.lorawan.events import UplinkFrame
from edge_agent.reading import Event, Priority, Reading, Record
from edge_agent.safe_text import safe_text

MAX_RAW_BYTES = 512  # raw payloads kept in events are cut to this many bytes


def raw_hex(data: bytes) -> str:
    return data[:MAX_RAW_BYTES].hex()


def point_readings(device: str, decoded: Decoded, ts: float, synced: bool) -> list[Record]:
    out: list[Record] = [Reading(device, p.name, p.value, ts, p.unit, p.quality, synced) for p in decoded.points]
    names = {p.name for p in decoded.points}
    if decoded.battery_percent is not None and "battery" not in names:
        out.append(Reading(device, "battery", decoded.battery_percent, ts, "%", clock_synced=synced))
    for name, raised in decoded.alarms.items():
        out.append(Reading(device, f"alarm.{name}", raised, ts, clock_synced=synced))
    return out


def past_events(device: str, decoded: Decoded, ts: float, synced: bool) -> list[Record]:
    """One event per history record the uplink carried: past readings dated by the device's clock, kept and sent
    upstream, never taken for current values (no rule, report or alarm reads them as the device's present)."""
    out: list[Record] = []
    for past in decoded.history:
        when = _device_time(past.ts)
        readings = [{"point": p.name, "value": p.value, "unit": p.unit, "quality": p.quality.label}
                    for p in past.points]
        out.append(Event("past_readings", ts, Priority.INFO, device,
                         f"{device}: {len(readings)} past reading(s) of {when or f'device time {past.ts}'}",
                         {"device_time": when, "device_ts": past.ts, "readings": readings}, synced))
    return out


def _device_time(ts: int) -> str | None:
    """The device's time as UTC ISO 8601, or None when it cannot be a date (a clock never set)."""
    if not _MIN_DEVICE_TS <= ts <= _MAX_DEVICE_TS:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_MIN_DEVICE_TS, _MAX_DEVICE_TS = 946_684_800, 4_102_444_800  # 2000-01-01 and 2100-01-01


def radio_readings(device: str, uplink: UplinkFrame, ts: float, synced: bool) -> list[Record]:
    radio = uplink.radio
    values: list[tuple[str, float | int | str | None, str | None]] = [
        ("lorawan.f_cnt", uplink.f_cnt, None),
        ("lorawan.f_port", uplink.f_port, None),
        ("lorawan.payload", uplink.data.hex(), None),
        ("lorawan.rssi", radio.rssi, "dBm"),
        ("lorawan.snr", radio.snr, "dB"),
        ("lorawan.spreading_factor", radio.spreading_factor, None),
        ("lorawan.gateway", radio.gateway_id, None),
    ]
    return [Reading(device, name, value, ts, unit, clock_synced=synced)
            for name, value, unit in values if value is not None]


def undecodable(device: str, uplink: UplinkFrame, reason: str, ts: float, synced: bool) -> Event:
    reason = safe_text(reason)
    return Event(
        kind="uplink_undecodable", ts=ts, priority=Priority.WARNING, device=device,
        message=f"uplink of {device} could not be decoded: {reason}",
        data={"reason": reason, "f_port": uplink.f_port, "f_cnt": uplink.f_cnt, "payload_hex": raw_hex(uplink.data),
              "dev_eui": uplink.dev_eui},
        clock_synced=synced,
    )


def unknown_device(uplink: UplinkFrame, ts: float, synced: bool) -> Event:
    return Event(
        kind="uplink_unknown_device", ts=ts, priority=Priority.WARNING,
        message=f"uplink from devEui {uplink.dev_eui}, which is not in the site config",
        data={"reason": "devEui not in the site config", "dev_eui": uplink.dev_eui,
              "application_id": uplink.application_id, "device_name": uplink.device_name,
              "f_port": uplink.f_port, "f_cnt": uplink.f_cnt, "payload_hex": raw_hex(uplink.data),
              "rssi": uplink.radio.rssi},
        clock_synced=synced,
    )


def malformed(topic: str, payload: bytes, reason: str, ts: float, synced: bool) -> Event:
    topic, reason = safe_text(topic), safe_text(reason)
    return Event(
        kind="uplink_malformed", ts=ts, priority=Priority.WARNING,
        message=f"ChirpStack event message that cannot be read: {reason}",
        data={"reason": reason, "topic": topic[:300], "size": len(payload), "payload_hex": raw_hex(payload)},
        clock_synced=synced,
    )


def fcnt_events(device: str, uplink: UplinkFrame, *, previous: int | None, lost: int, reset: bool, ts: float,
                synced: bool) -> list[Record]:
    out: list[Record] = []
    if lost:
        out.append(Event("uplinks_lost", ts, Priority.WARNING, device,
                         f"{lost} uplink(s) of {device} lost (fCnt {previous} -> {uplink.f_cnt})",
                         {"lost": lost, "previous_f_cnt": previous, "f_cnt": uplink.f_cnt}, synced))
    if reset:
        out.append(Event("fcnt_reset", ts, Priority.INFO, device,
                         f"frame counter of {device} went back from {previous} to {uplink.f_cnt} (rejoin or reboot)",
                         {"previous_f_cnt": previous, "f_cnt": uplink.f_cnt}, synced))
    return out


def alarm_event(device: str, name: str, raised: bool, ts: float, synced: bool) -> Event:
    if raised:
        return Event("device_alarm", ts, Priority.ALARM, device, f"{device}: {name} alarm raised",
                     {"alarm": name, "raised": True}, synced)
    return Event("device_alarm_cleared", ts, Priority.INFO, device, f"{device}: {name} alarm cleared",
                 {"alarm": name, "raised": False}, synced)


def silence_event(device: str, silent: bool, quiet_for: float, ts: float, synced: bool) -> Event:
    if silent:
        return Event("device_silent", ts, Priority.ALARM, device,
                     f"{device} not heard for {quiet_for:.0f} s", {"quiet_seconds": round(quiet_for, 1)}, synced)
    return Event("device_heard_again", ts, Priority.INFO, device, f"{device} heard again", {}, synced)

