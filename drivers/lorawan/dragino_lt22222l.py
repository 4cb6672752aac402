"""Dragino LT-22222-L I/O controller switching a lighting circuit by relay (fPort 2 data, fPort 5 status; big-endian).

Layout (Dragino's LT-22222-L manual and its decoder v1.6, dragino/dragino-end-node-decoder): fPort 2, 11 bytes:
[0..7] per work mode, [8] RO1 RO2 DI3 DI2 DI1 DO3 DO2 DO1 (bit 7 to 0; a DO bit of 1 means the output is low;
in modes 2-5 bit 5 says the frame is the first after a reset), [9] reserved (mode 6: trigger mode on), [10] hardware
(bits 7-6: 0 LT33222, 1 LT22222) and work mode (bits 5-0). Modes: 1 "2ACI+2AVI": AVI1, AVI2 (V), ACI1, ACI2 (mA),
each a signed 16-bit count of thousandths; 2 "Count mode 1": count 1 and 2, u32; 3 "2ACI+1Count": count 1, ACI1,
ACI2; 4 "Count mode 2": count 1, AVI1 time counter, u32; 5 "1ACI+2AVI+1Count": AVI1, AVI2, ACI1, count 1 u16;
6 trigger mode: [0] triggers enabled, [1] triggers fired (AV1 low/high, AV2 low/high, AC1 low/high, AC2 low/high,
bit 7 to 0), [2] DI2 level, DI2 trigger, DI1 level, DI1 trigger (bits 3-0).
fPort 5 device status: [0] frequency band, [1] sub-band (0xFF none), [2..3] firmware, [4..6] uplink interval s.
Downlinks: 03 <RO1> <RO2> (01 close, 00 open, 11 leave), 05 <inverter> <state> <ms u16> timed relay, 08 FF poll,
01 <u24 seconds> uplink interval.

Where this departs from the vendor's decoder: nothing in the values (analog inputs are signed there too since v1.6:
raw 0xFFF6 is -0.010 V; older decoders read them unsigned, 65.526 V); trigger flags are alarm flags and booleans, not
the strings "True"/"False"; a frame of an undocumented work mode or hardware code is refused.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Downlink,
    EncodeError,
    Reader,
    check_fport,
    int_in_range,
    on_off,
)

MODEL = "Dragino LT-22222-L"
DOMAIN = "lighting"
UPLINK_FPORTS = frozenset({2, 5})
COMMANDS = {
    "switch": "on/off for both relays, or {relay 1-2: on/off}",
    "timed_relay": "{'inverter_mode': 0/1, 'state': 0x00/0x01/0x10/0x11, 'latch_ms': 0-65535}",
    "poll": "ask for an uplink now (no value)",
    "set_interval": "uplink interval in seconds (30-16777215)",
}
_DOWN_PORT = 1
_HARDWARE = {0: "LT33222", 1: "LT22222"}
_MODES = {1: "2ACI+2AVI", 2: "Count mode 1", 3: "2ACI+1Count", 4: "Count mode 2", 5: "1ACI+2AVI+1Count",
          6: "Trigger mode"}
_BANDS = {1: "EU868", 2: "US915", 3: "IN865", 4: "AU915", 5: "KZ865", 6: "RU864", 7: "AS923", 8: "AS923_1",
          9: "AS923_2", 10: "AS923_3", 15: "AS923_4", 11: "CN470", 12: "EU433", 13: "KR920", 14: "MA869"}
_TRIGGERS = ("avi1_low", "avi1_high", "avi2_low", "avi2_high", "aci1_low", "aci1_high", "aci2_low", "aci2_high")
_LEAVE = 0x11


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    if f_port == 5:
        _status(reader, out)
    else:
        _data(reader, out)
    reader.end()
    return out.build()


def _data(reader: Reader, out: DecodedBuilder) -> None:
    body = Reader(reader.take(8))
    bits, reserved, hw_mode = reader.u8(), reader.u8(), reader.u8()
    mode, hardware = hw_mode & 0x3F, _HARDWARE.get(hw_mode >> 6)
    if mode not in _MODES:
        raise DecodeError(f"work mode {mode} is not documented (modes 1-6)")
    if hardware is None:
        raise DecodeError(f"hardware code {hw_mode >> 6} is not documented (0 LT33222, 1 LT22222)")
    out.point("hardware", hardware)
    out.point("work_mode", _MODES[mode])
    if mode == 6:
        _triggers(body, reserved, out)
        return
    outputs = 3 if hardware == "LT33222" else 2
    out.point("relay_1", bool(bits & 0x80))
    out.point("relay_2", bool(bits & 0x40))
    for index in range(outputs):
        out.point(f"do_{index + 1}", not bits >> index & 1)
    if mode == 1:
        for index in range(outputs):
            out.point(f"di_{index + 1}", bool(bits >> (3 + index) & 1))
    else:
        out.point("first_frame", bool(bits & 0x20))
    _inputs(mode, body, out)


def _inputs(mode: int, body: Reader, out: DecodedBuilder) -> None:
    if mode in (1, 5):
        out.point("avi_1", body.i16() / 1000, "V")
        out.point("avi_2", body.i16() / 1000, "V")
        out.point("aci_1", body.i16() / 1000, "mA")
        if mode == 1:
            out.point("aci_2", body.i16() / 1000, "mA")
        else:
            out.point("count_1", body.u16())
        return
    out.point("count_1", body.u32())
    if mode == 2:
        out.point("count_2", body.u32())
    elif mode == 3:
        out.point("aci_1", body.i16() / 1000, "mA")
        out.point("aci_2", body.i16() / 1000, "mA")
    else:
        out.point("avi_1_counter", body.u32())


def _triggers(body: Reader, mode_status: int, out: DecodedBuilder) -> None:
    enabled, fired, digital = body.u8(), body.u8(), body.u8()
    out.point("trigger_mode", bool(mode_status))
    for index, name in enumerate(_TRIGGERS):
        bit = 7 - index
        out.point(f"trigger.{name}_enabled", bool(enabled >> bit & 1))
        out.alarm(f"trigger.{name}", bool(fired >> bit & 1))
    out.point("di_2", bool(digital & 0x08))
    out.alarm("trigger.di_2", bool(digital & 0x04))
    out.point("di_1", bool(digital & 0x02))
    out.alarm("trigger.di_1", bool(digital & 0x01))


def _status(reader: Reader, out: DecodedBuilder) -> None:
    band, sub_band = reader.u8(), reader.u8()
    major, minor = reader.u8(), reader.u8()
    out.point("firmware_version", f"{major & 0x0F}.{minor >> 4}.{minor & 0x0F}")
    out.point("frequency_band", _BANDS.get(band, f"unknown_{band}"))
    if sub_band != 0xFF:
        out.point("sub_band", sub_band)
    out.point("uplink_interval", reader.u24(), "s")


def _relays(value: object) -> bytes:
    if not isinstance(value, dict):
        state = 0x01 if on_off(value) else 0x00
        return bytes([0x03, state, state])
    wanted = {int_in_range(int(str(k)) if str(k).isdigit() else k, 1, 2, "relay"): on_off(v)
              for k, v in value.items()}
    if not wanted:
        raise EncodeError("switch needs at least one relay")
    return bytes([0x03] + [_LEAVE if n not in wanted else int(wanted[n]) for n in (1, 2)])


def encode(command: str, value: object) -> Downlink:
    if command == "switch":
        return Downlink(_DOWN_PORT, _relays(value))
    if command == "timed_relay":
        if not isinstance(value, dict):
            raise EncodeError("timed_relay takes {'inverter_mode', 'state', 'latch_ms'}")
        inverter = int_in_range(value.get("inverter_mode"), 0, 1, "inverter mode")
        state = int_in_range(value.get("state"), 0, 0x11, "relay state")
        if state not in (0x00, 0x01, 0x10, 0x11):
            raise EncodeError("relay state is one of 0x00, 0x01, 0x10, 0x11")
        latch = int_in_range(value.get("latch_ms"), 0, 0xFFFF, "latch time (ms)")
        return Downlink(_DOWN_PORT, bytes([0x05, inverter, state]) + latch.to_bytes(2, "big"))
    if command == "poll":
        return Downlink(_DOWN_PORT, bytes([0x08, 0xFF]))
    if command == "set_interval":
        seconds = int_in_range(value, 30, 0xFFFFFF, "interval (seconds)")
        return Downlink(_DOWN_PORT, bytes([0x01]) + seconds.to_bytes(3, "big"))
    raise EncodeError(f"unknown command '{command}'")
