"""Milesight WS558 8-circuit smart light controller (fPort 85, Milesight channel/type/value, little-endian).

Channels (Milesight's WS558 README and payload decoder, Milesight-IoT/SensorDecoders ws-series/ws558): 03 74 voltage
u16/10 V; 04 80 active power u32 W; 05 81 power factor % u8; 06 83 energy u32 Wh; 07 C9 current u16 mA; 08 31
[changed mask][state bits, bit0 = circuit 1]; ff 26 energy metering on/off. Device attributes at boot: ff 01
protocol version, ff 09 hardware, ff 0a firmware, ff ff TSL version, ff 16 serial number, ff 0f LoRaWAN class,
ff fe reset, ff 0b power on. Replies to downlinks (fe xx or ff xx, appended to a status frame): 10 reboot, 28 status
report, 03 reporting interval, 23 delay task cancelled, 26 energy metering, 27 energy counter cleared, 32 delay task.
Downlinks: 08 <mask> <state> switches circuits; FF 32 <task> <delay s u16> <mask> <state> delays it;
FF 03 <u16 s> reporting interval; FF 28 FF asks for a status report.

Where this departs from the vendor's decoder: active power and energy are unsigned (older Milesight decoders read
them as signed 32-bit, so values from 2^31 came out negative); versions follow the README ("0110" -> v1.10
firmware, v1.1 hardware) where the decoder prints decimal; an unknown channel keeps the values read before it (the
decoder throws on an unknown reply and loses the frame).
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    Downlink,
    EncodeError,
    Reader,
    check_fport,
    int_in_range,
    on_off,
)

MODEL = "Milesight WS558"
DOMAIN = "lighting"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {
    "switch": "on/off for every circuit, or {circuit number: on/off}",
    "switch_delayed": "{'circuits': {n: on/off}, 'delay_s': 0-65535, 'task_id': 0-255}",
    "set_interval": "reporting interval in seconds (60-64800)",
    "report_status": "ask for a status uplink (no value)",
}
_CIRCUITS = 8
_CLASSES = {0: "class_a", 1: "class_b", 2: "class_c", 3: "class_c_to_b"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if not (_measurement(channel, kind, reader, out) or _attribute(channel, kind, reader, out)
                or _reply(channel, kind, reader, out)):
            reader.pos = start
            out.stop_at_unknown(f"unknown channel {channel:02x} {kind:02x}", reader)
    return out.build()


def _measurement(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    key = (channel, kind)
    if key == (0x03, 0x74):
        out.point("voltage", reader.u16(little=True) / 10, "V")
    elif key == (0x04, 0x80):
        out.point("active_power", reader.u32(little=True), "W")
    elif key == (0x05, 0x81):
        out.percent("power_factor", reader.u8())
    elif key == (0x06, 0x83):
        out.point("energy", reader.u32(little=True), "Wh")
    elif key == (0x07, 0xC9):
        out.point("current", reader.u16(little=True), "mA")
    elif key == (0x08, 0x31):
        reader.u8()
        state = reader.u8()
        for index in range(_CIRCUITS):
            out.point(f"switch_{index + 1}", bool(state >> index & 1))
    else:
        return False
    return True


def _attribute(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if channel != 0xFF:
        return False
    if kind == 0x01:
        byte = reader.u8()
        out.point("protocol_version", f"v{byte >> 4}.{byte & 0x0F}")
    elif kind == 0x09:
        major, minor = reader.u8(), reader.u8()
        out.point("hardware_version", f"v{major:x}.{minor >> 4:x}")
    elif kind == 0x0A:
        major, minor = reader.u8(), reader.u8()
        out.point("firmware_version", f"v{major:x}.{minor:x}")
    elif kind == 0xFF:
        major, minor = reader.u8(), reader.u8()
        out.point("tsl_version", f"v{major}.{minor}")
    elif kind == 0x16:
        out.point("serial_number", reader.take(8).hex())
    elif kind == 0x0F:
        code = reader.u8()
        out.point("lorawan_class", _CLASSES.get(code, f"unknown_{code}"))
    elif kind in (0xFE, 0x0B):
        reader.u8()
        out.point("reset" if kind == 0xFE else "power_on", True)
    else:
        return False
    return True


def _reply(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if channel not in (0xFE, 0xFF):
        return False
    if kind in (0x10, 0x28, 0x27):
        reader.u8()
        out.point({0x10: "reboot_acknowledged", 0x28: "status_report_requested",
                   0x27: "energy_counter_cleared"}[kind], True)
    elif kind == 0x03:
        out.point("report_interval", reader.u16(little=True), "s")
    elif kind == 0x26:
        out.point("energy_metering", bool(reader.u8()))
    elif kind == 0x23:
        out.point("delay_task.cancelled_task_id", reader.u8())
        reader.u8()
    elif kind == 0x32:
        out.point("delay_task.task_id", reader.u8())
        out.point("delay_task.delay", reader.u16(little=True), "s")
        mask, state = reader.u8(), reader.u8()
        for index in range(_CIRCUITS):
            if mask >> index & 1:
                out.point(f"delay_task.switch_{index + 1}", bool(state >> index & 1))
    else:
        return False
    return True


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
