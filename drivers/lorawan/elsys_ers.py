"""Elsys ERS room and air-quality sensors (ERS, ERS CO2, ERS Sound, ERS VOC, ERS Lite): one Elsys payload.

From Elsys' generic payload decoder in the TTN device repository (vendor/elsys/elsys.js, "ELSYS simple payload
decoder") and Elsys' payload document it implements (facts only, no code copied). A payload is a sequence of
[type][value], the value's length fixed by the type, big-endian: 01 temperature int16 / 10 degC; 02 humidity u8 %;
03 acceleration 3 x int8 (63 = 1 g); 04 light u16 lux; 05 motion count u8; 06 CO2 u16 ppm; 07 supply u16 mV;
08 analog 1 u16 mV; 09 GPS 2 x 3 bytes; 0a pulses u16; 0b pulse total u32; 0c external temperature int16 / 10;
0d digital input u8; 0e distance u16 mm; 0f vibration count u8; 10 IR temperatures 2 x int16 / 10; 11 occupancy u8
(0 free, 1 pending, 2 occupied); 12 water leak u8; 13 Grid-EYE (65 bytes); 14 pressure u32 / 1000 hPa; 15 sound
peak u8 + average u8 dB; 16 pulses 2 u16; 17 pulse total 2 u32; 18 analog 2 u16 mV; 19 external temperature 2;
1a digital input 2 u8; 1b load cell u32 uV (signed); 1c TVOC u16 ppb; 3d debug (4 bytes); 3e sensor settings
(a length byte, then the settings), the reply to a settings downlink. The data port is configurable on the
device, so any application fPort is accepted.

A type the codec does not know has no known length: the decoding stops there and keeps what came before it
(listed in ``skipped``); the vendor's decoder drops it silently. GPS (raw bytes), Grid-EYE images, debug words
and the settings are skipped by name. A humidity above 100 % is a bad point.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    Reader,
    check_fport,
)

MODEL = "Elsys ERS family (ERS, ERS CO2, ERS Sound, ERS VOC)"
DOMAIN = "environment"
UPLINK_FPORTS = frozenset(range(1, 224))

# type -> (point, unit, signed 16-bit / 10) for the two-byte values
_WORDS = {0x01: ("temperature", "°C", True), 0x04: ("light", "lx", False), 0x06: ("co2", "ppm", False),
          0x08: ("analog_1", "mV", False), 0x0A: ("pulse_count_1", None, False),
          0x0C: ("external_temperature", "°C", True), 0x0E: ("distance", "mm", False),
          0x16: ("pulse_count_2", None, False), 0x18: ("analog_2", "mV", False),
          0x19: ("external_temperature_2", "°C", True), 0x1C: ("tvoc", "ppb", False)}
_BYTES = {0x05: "motion_count", 0x0D: "digital_input", 0x0F: "vibration_count", 0x12: "water_leak",
          0x1A: "digital_input_2"}
_SKIPPED = {0x09: (6, "GPS position"), 0x13: (65, "Grid-EYE image"), 0x3D: (4, "debug word")}
_OCCUPANCY = {0: "free", 1: "pending", 2: "occupied"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        kind = reader.u8()
        if not _value(kind, reader, out):
            out.skip(f"type {kind:02x} at offset {start} and the {len(data) - start - 1} byte(s) after it "
                     "(unknown type, length unknown)")
            break
    return out.build()


def _value(kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if kind in _WORDS:
        name, unit, tenths = _WORDS[kind]
        out.point(name, reader.i16() / 10 if tenths else reader.u16(), unit)
    elif kind in _BYTES:
        out.point(_BYTES[kind], reader.u8())
    elif kind == 0x02:
        humidity = reader.u8()
        if humidity <= 100:
            out.point("humidity", humidity, "%")
        else:
            out.bad("humidity", f"humidity: the sensor sent {humidity} %, above 100 %", "%")
    elif kind == 0x03:
        for axis in "xyz":
            out.point(f"acceleration_{axis}", round(reader.i8() / 63, 3), "g")
    elif kind == 0x07:
        out.point("battery_voltage", reader.u16() / 1000, "V")
    elif kind in (0x0B, 0x17):
        out.point("pulse_total_1" if kind == 0x0B else "pulse_total_2", reader.u32())
    elif kind == 0x10:
        out.point("ir_internal_temperature", reader.i16() / 10, "°C")
        out.point("ir_external_temperature", reader.i16() / 10, "°C")
    elif kind == 0x11:
        state = reader.u8()
        out.point("occupancy", _OCCUPANCY.get(state, f"unknown ({state})"))
    elif kind == 0x14:
        out.point("pressure", reader.u32() / 1000, "hPa")
    elif kind == 0x15:
        out.point("sound_peak", reader.u8(), "dB")
        out.point("sound_avg", reader.u8(), "dB")
    elif kind == 0x1B:
        out.point("load_cell", int.from_bytes(reader.take(4), "big", signed=True), "µV")
    elif kind in _SKIPPED:
        length, what = _SKIPPED[kind]
        reader.take(length)
        out.skip(f"type {kind:02x} {what}")
    elif kind == 0x3E:
        reader.take(reader.u8())
        out.skip("type 3e sensor settings")
    else:
        return False
    return True
