"""Milesight WS558 8-circuit smart light controller (fPort 85, Milesight channel/type/value, little-endian).

Channels (Milesight's WS558 README): 03 74 voltage u16/10 V; 04 80 active power u32 W; 05 81 power factor % u8;
06 83 energy u32 Wh; 07 C9 current u16 mA; 08 31 [changed mask][state bits, bit0 = circuit 1]; FF xx attributes.
Downlinks: 08 <mask> <state> switches circuits; FF 32 <task> <delay s u16> <mask> <state> delays it;
FF 03 <u16 s> reporting interval; FF 28 FF asks for a status report.
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

MODEL = "Milesight WS558"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {
    "switch": "on/off for every circuit, or {circuit number: on/off}",
    "switch_delayed": "{'circuits': {n: on/off}, 'delay_s': 0-65535, 'task_id': 0-255}",
    "set_interval": "reporting interval in seconds (60-64800)",
    "report_status": "ask for a status uplink (no value)",
}
_CIRCUITS = 8
_ATTRIBUTE_LENGTHS = {0x01: 1, 0x09: 2, 0x0A: 2, 0x0B: 1, 0x0F: 1, 0x16: 8, 0xFE: 1}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        channel, kind = reader.u8(), reader.u8()
        key = (channel, kind)
        if key == (0x03, 0x74):
            out.point("voltage", reader.u16(little=True) / 10, "V")
        elif key == (0x04, 0x80):
            out.point("active_power", reader.u32(little=True), "W")
        elif key == (0x05, 0x81):
            out.point("power_factor", reader.u8(), "%")
        elif key == (0x06, 0x83):
            out.point("energy", reader.u32(little=True), "Wh")
        elif key == (0x07, 0xC9):
            out.point("current", reader.u16(little=True), "mA")
        elif key == (0x08, 0x31):
            reader.u8()
            state = reader.u8()
            for index in range(_CIRCUITS):
                out.point(f"switch_{index + 1}", bool(state >> index & 1))
        elif channel == 0xFF and kind in _ATTRIBUTE_LENGTHS:
            reader.take(_ATTRIBUTE_LENGTHS[kind])
        else:
            raise DecodeError(f"unknown channel {channel:02x} {kind:02x} at offset {reader.pos - 2}")
    return out.build()


def _mask_state(value: object) -> tuple[int, int]:
    """(mask, state) bytes from on/off for all circuits or a {circuit: on/off} mapping."""
    if not isinstance(value, dict):
        return (0xFF, 0xFF if on_off(value) else 0x00)
    if not value:
        raise EncodeError("switch needs at least one circuit")
    mask = state = 0
    for circuit, wanted in value.items():
        number = int_in_range(int(circuit) if str(circuit).isdigit() else circuit, 1, _CIRCUITS, "circuit")
        mask |= 1 << (number - 1)
        if on_off(wanted):
            state |= 1 << (number - 1)
    return mask, state


def encode(command: str, value: object) -> Downlink:
    if command == "switch":
        mask, state = _mask_state(value)
        return Downlink(85, bytes([0x08, mask, state]))
    if command == "switch_delayed":
        if not isinstance(value, dict) or "circuits" not in value:
            raise EncodeError("switch_delayed takes {'circuits': {...}, 'delay_s': seconds, 'task_id': n}")
        mask, state = _mask_state(value["circuits"])
        delay = int_in_range(value.get("delay_s"), 0, 0xFFFF, "delay (seconds)")
        task = int_in_range(value.get("task_id", 1), 0, 255, "task id")
        return Downlink(85, bytes([0xFF, 0x32, task]) + delay.to_bytes(2, "little") + bytes([mask, state]))
    if command == "set_interval":
        seconds = int_in_range(value, 60, 64800, "interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
    if command == "report_status":
        return Downlink(85, bytes([0xFF, 0x28, 0xFF]))
    raise EncodeError(f"unknown command '{command}'")
