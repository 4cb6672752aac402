"""Per-device uplink bookkeeping: duplicates, fCnt gaps and resets, battery, silence. Pure: clocks come in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge_agent.device_state import LorawanDeviceStatus
from edge_agent.frozen import frozen
from edge_agent.lorawan import signal_log
from edge_agent.lorawan.config import LorawanDeviceConfig, is_uuid
from edge_agent.lorawan.events import Radio

_FCNT_MODULO = 1 << 32
_WRAP_WINDOW = 1 << 16  # a drop from near 2**32 to below this is a wrap, not a reset
RECENT_UPLINKS = 10  # uplinks whose radio metadata is kept per device, for the signal view


class Dedup:
    """Remembers the last ``size`` deduplication ids heard; ``seen`` records an id and says if it was known.

    ChirpStack's ids are UUIDs: each is kept as the 128-bit number its 32 hex digits spell (any other id as its
    text), in a set and in a ring of ``size`` slots that forgets the one first heard longest ago (a repeat does not
    make it younger: ChirpStack's repeats come within seconds). Full, 4,096 ids take about 0.34 MB, against 0.65 MB
    as text in an ordered dict; the daemon holds it for its life."""

    def __init__(self, size: int = 4096) -> None:
        if size < 1:
            raise ValueError("a deduplication memory holds at least one id")
        self._known: set[int | str] = set()
        self._ring: list[int | str | None] = [None] * size
        self._next = 0

    def seen(self, key: str) -> bool:
        if not key:
            return False
        compact = _uuid_number(key)
        known = self._known
        if compact in known:
            return True
        ring, slot = self._ring, self._next
        oldest = ring[slot]
        if oldest is not None:
            known.discard(oldest)
        ring[slot] = compact
        known.add(compact)
        self._next = (slot + 1) % len(ring)
        return False

    def __len__(self) -> int:
        return len(self._known)


def _uuid_number(key: str) -> int | str:
    """A UUID in its canonical text (``config.is_uuid``) as its number; any other id as it is."""
    return int(key.replace("-", ""), 16) if is_uuid(key) else key


@frozen
class FcntCheck:
    lost: int = 0
    reset: bool = False
    repeated: bool = False


def check_fcnt(previous: int | None, current: int) -> FcntCheck:
    """Compare an uplink's frame counter with the last one heard from the same device."""
    if previous is None:
        return FcntCheck()
    if current == previous:
        return FcntCheck(repeated=True)
    if current > previous:
        return FcntCheck(lost=current - previous - 1)
    if previous >= _FCNT_MODULO - _WRAP_WINDOW and current < _WRAP_WINDOW:
        return FcntCheck(lost=current + _FCNT_MODULO - previous - 1)
    return FcntCheck(reset=True)


@dataclass(slots=True)  # one per LoRaWAN device of the site, for the daemon's life
class RadioTrack:
    """What the LoRaWAN intake tracks of one device (frame counter, radio, battery, alarms); ``status`` is what
    ``devices_status`` reports, from which edge_agent.device_state works out the device's DeviceState."""

    config: LorawanDeviceConfig
    heard_mono: float
    last_seen: float | None = None
    f_cnt: int | None = None
    battery_percent: float | None = None
    uplinks: int = 0
    lost_uplinks: int = 0
    counter_resets: int = 0
    decode_errors: int = 0
    duplicates: int = 0
    silent: bool = False
    alarms: dict[str, bool] = field(default_factory=dict)
    application_id: str | None = None
    recent: tuple[signal_log.PackedUplink, ...] = ()  # the last RECENT_UPLINKS, oldest first (a tuple: no
    # deque's 64-slot block per device)
    missing_fields: int = 0  # codec = "chirpstack": mapped fields the decoded object lacked
    problem: str | None = None  # why the device's codec cannot be used (its uplinks are kept undecoded)

    @property
    def silent_after_seconds(self) -> float:
        return self.config.uplink_interval * self.config.silent_after

    def status(self) -> LorawanDeviceStatus:
        last = signal_log.best(self.recent[-1]) if self.recent else signal_log.Best()
        return {
            "device": self.config.name, "dev_eui": self.config.dev_eui, "codec": self.config.codec,
            "last_seen": self.last_seen, "f_cnt": self.f_cnt, "rssi": last.rssi, "snr": last.snr,
            "spreading_factor": last.spreading_factor, "gateway": last.gateway,
            "battery_percent": self.battery_percent, "uplinks": self.uplinks, "lost_uplinks": self.lost_uplinks,
            "counter_resets": self.counter_resets, "decode_errors": self.decode_errors,
            "duplicates": self.duplicates, "silent": self.silent,
            "alarms": sorted(name for name, raised in self.alarms.items() if raised),
            "missing_fields": self.missing_fields, "usable": self.problem is None, "problem": self.problem,
        }

    def signal(self, last: int = RECENT_UPLINKS) -> list[dict[str, Any]]:
        """The radio metadata of the last uplinks, newest first: each gateway's RSSI and SNR, the SF."""
        return [signal_log.unpack(entry) for entry in self.recent[::-1][:max(0, last)]]


class DeviceTable:
    """The site's LoRaWAN devices by devEui, with their state."""

    def __init__(self, devices: list[LorawanDeviceConfig], now_mono: float) -> None:
        self._by_eui = {d.dev_eui: RadioTrack(d, heard_mono=now_mono) for d in devices}
        self._by_name = {state.config.name: state for state in self._by_eui.values()}

    def by_eui(self, dev_eui: str) -> RadioTrack | None:
        return self._by_eui.get(dev_eui.lower())

    def by_name(self, name: str) -> RadioTrack | None:
        return self._by_name.get(name)

    def all(self) -> list[RadioTrack]:
        return list(self._by_eui.values())

    def heard(self, state: RadioTrack, *, f_cnt: int, radio: Radio, wall: float, mono: float) -> FcntCheck:
        """Record an uplink; returns what its frame counter says."""
        check = check_fcnt(state.f_cnt, f_cnt)
        state.f_cnt = f_cnt
        state.last_seen = wall
        state.heard_mono = mono
        recent = state.recent
        packed = signal_log.pack(wall, f_cnt, radio, recent[-1] if recent else None)
        state.recent = (*recent[max(0, len(recent) - RECENT_UPLINKS + 1):], packed)
        state.uplinks += 1
        state.lost_uplinks += check.lost
        state.counter_resets += int(check.reset)
        return check

    def silence_changes(self, now_mono: float) -> list[RadioTrack]:
        """Devices whose silent flag flips now (heard again, or quiet for too long)."""
        changed = []
        for state in self._by_eui.values():
            quiet = now_mono - state.heard_mono > state.silent_after_seconds
            if quiet != state.silent:
                state.silent = quiet
                changed.append(state)
        return changed


def alarm_changes(state: RadioTrack, alarms: dict[str, bool]) -> list[tuple[str, bool]]:
    """Alarm flags that differ from the last uplink's (a first 'not raised' is no change)."""
    changes = []
    for name, raised in alarms.items():
        if state.alarms.get(name, False) != raised:
            changes.append((name, raised))
        state.alarms[name] = raised
    return changes
