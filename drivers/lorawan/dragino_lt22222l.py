"""Dragino LT-22222-L I/O controller switching a lighting circuit by relay (fPort 2, 11 bytes, big-endian).

Layout (Dragino LT manual, work mode 1 "2ACI+2AVI"): [0..1] AVI1 mV, [2..3] AVI2 mV, [4..5] ACI1 uA,
[6..7] ACI2 uA, [8] RO1 RO2 DI3 DI2 DI1 DO3 DO2 DO1 (bit 7 to 0; a DO bit of 1 means the output is low),
[9] reserved, [10] hardware (bits 7-6: 0 LT33222, 1 LT22222) and work mode (bits 5-0).
Downlinks: 03 <RO1> <RO2> (01 close, 00 open, 11 leave), 05 <inverter> <state> <ms u16> timed relay, 08 FF poll,
01 <u24 seconds> uplink interval.
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
UPLINK_FPORTS = frozenset({2})
COMMANDS = {
    "switch": "on/off for both relays, or {relay 1-2: on/off}",
    "timed_relay": "{'inverter_mode': 0/1, 'state': 0x00/0x01/0x10/0x11, 'latch_ms': 0-65535}",
    "poll": "ask for an uplink now (no value)",
    "set_interval": "uplink interval in seconds (30-16777215)",
}
_DOWN_PORT = 1
_HARDWARE = {0: "LT33222", 1: "LT22222"}
_MODE_ANALOG = 1
_LEAVE = 0x11


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    avi = (reader.u16(), reader.u16())
    aci = (reader.u16(), reader.u16())
    bits = reader.u8()
    reader.u8()
    hw_mode = reader.u8()
    mode = hw_mode & 0x3F
    if mode != _MODE_ANALOG:
        raise DecodeError(f"work mode {mode} is not decoded (only mode 1, 2ACI+2AVI)")
    hardware = _HARDWARE.get(hw_mode >> 6)
    if hardware is None:
        raise DecodeError(f"unknown hardware code {hw_mode >> 6}")
    out = DecodedBuilder()
    out.point("hardware", hardware)
    out.point("work_mode", "2ACI+2AVI")
    out.point("relay_1", bool(bits & 0x80))
    out.point("relay_2", bool(bits & 0x40))
    inputs = 3 if hardware == "LT33222" else 2
    for index in range(inputs):
        out.point(f"di_{index + 1}", bool(bits >> (3 + index) & 1))
        out.point(f"do_{index + 1}", not bits >> index & 1)
    for index in range(2):
        out.point(f"avi_{index + 1}", avi[index] / 1000, "V")
        out.point(f"aci_{index + 1}", aci[index] / 1000, "mA")
    return out.build()


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
