"""Adeunis PULSE 4 (firmware 4.x), two-channel pulse counter for water, gas and electricity meters (fPort 1, BE).

From Adeunis' PULSE 4 codec (the MIT-licensed @adeunis/codecs 1.6.1, src/products/pulse_v4 and generic; facts
only, no code copied) and the codec examples in the TTN device repository. Every frame: [0] frame code, [1] status
(bits 7-5 frame counter, bit 2 a timestamp ends a data frame, bit 1 low battery, bit 0 configuration done); the
timestamp is u32 seconds since 2013-01-01 UTC. Frames: 0x46 data (counter A u32, counter B u32); 0x5a / 0x5b
periodic data of channel A / B (counter now u32, then u16 decrements back to earlier samples); 0x47 flow alarm
(flows of A and B u16, pulses per flow period); 0x30 keep-alive (alarm bits: flow A/B bits 0/1, tamper A/B
2/3, leak A/B 4/5; last-24 h maximum flow A, B u16, minimum A, B u16); 0x10 configuration (sending period =
samples before sending u16 [3..4] x sampling period u16 [6..7] x 2 s), 0x11 and 0x12 leak and tamper settings;
generic 0x20 network configuration, 0x2f downlink acknowledgement (frame code + status: 1 success, 2 generic error,
3 wrong state, 4 invalid request), 0x33 register write status, 0x36 alert (1 uplink and downlink forbidden),
0x37 software versions (application, radio stack).

The earlier samples of 0x5a / 0x5b are past readings and are not reported as current values; the current counter
is. Settings other than the sending period are skipped by name. Bytes after a frame's fields (Adeunis' own test
frame 46 30 ... 14ABA3E9 carries a timestamp its status byte does not announce) are skipped and listed, the frame's
values kept, as Adeunis' decoder keeps them.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Reader,
    check_fport,
)

MODEL = "Adeunis PULSE 4"
DOMAIN = "water"
UPLINK_FPORTS = frozenset({1})
_EPOCH_2013 = 1356998400
_TIMESTAMPED = frozenset({0x30, 0x46, 0x47, 0x5A, 0x5B})  # data frames; the others ignore the status bit
_ACK_STATUS = {1: "success", 2: "error", 3: "wrong state", 4: "invalid request"}
_KEEP_ALIVE_ALARMS = ("flow_a", "flow_b", "tamper_a", "tamper_b", "leak_a", "leak_b")
# frame code -> (fixed length without timestamp, description) for frames skipped whole
_SETTINGS = {0x11: (10, "leak thresholds"), 0x12: (11, "leak and tamper settings"),
             0x20: (4, "network configuration"), 0x33: (5, "register write status")}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    code, status = reader.u8(), reader.u8()
    timestamped = bool(status & 0x04) and code in _TIMESTAMPED
    body = Reader(reader.take(reader.remaining - (4 if timestamped else 0)))
    out = DecodedBuilder()
    out.alarm("low_battery", bool(status & 0x02))
    if timestamped:
        out.point("device_time", reader.u32() + _EPOCH_2013, "s")
    _frame(code, body, out)
    return out.build()


def _frame(code: int, body: Reader, out: DecodedBuilder) -> None:
    if code == 0x46:
        out.point("pulse_count_a", body.u32())
        out.point("pulse_count_b", body.u32())
    elif code in (0x5A, 0x5B):
        out.point(f"pulse_count_{'a' if code == 0x5A else 'b'}", body.u32())
        if body.remaining % 2:
            raise DecodeError(f"frame 0x{code:02x}: earlier samples are two bytes each, {body.remaining} left")
        body.take(body.remaining)
    elif code == 0x47:
        out.point("flow_a", body.u16())
        out.point("flow_b", body.u16())
        out.alarm("flow_overflow", True)
    elif code == 0x30:
        bits = body.u8()
        for index, name in enumerate(_KEEP_ALIVE_ALARMS):
            out.alarm(name, bool(bits >> index & 1))
        for name in ("flow_max_24h_a", "flow_max_24h_b", "flow_min_24h_a", "flow_min_24h_b"):
            out.point(name, body.u16())
    elif code == 0x10:
        body.take(1)
        samples = body.u16()
        body.take(1)
        out.point("report_interval", samples * body.u16() * 2, "s")
        body.take(body.remaining)
        out.skip("0x10 channel settings")
    elif code == 0x2F:
        command = body.u8()
        result = body.u8()
        out.point("downlink_ack", f"0x{command:02x} {_ACK_STATUS.get(result, 'other error')}")
    elif code == 0x36:
        out.alarm("uplink_downlink_forbidden", body.u8() == 1)
    elif code == 0x37:
        out.point("firmware_version", ".".join(str(body.u8()) for _ in range(3)))
        out.point("radio_stack_version", ".".join(str(body.u8()) for _ in range(3)))
    elif code in _SETTINGS:
        body.take(_SETTINGS[code][0] - 2)
        out.skip(f"0x{code:02x} {_SETTINGS[code][1]}")
    else:
        raise DecodeError(f"frame code 0x{code:02x} is not a PULSE 4 frame")
    if body.remaining:  # as in Adeunis' decoder, bytes after a frame's fields do not cost its values
        out.skip(f"{body.remaining} byte(s) after the fields of frame 0x{code:02x}")
