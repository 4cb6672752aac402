"""Adeunis DRY CONTACTS 2, four dry-contact inputs for cabinet doors and contactor feedback (fPort 1, big-endian).

From Adeunis' DRY CONTACTS 2 codec (the MIT-licensed @adeunis/codecs 1.6.1, src/products/drycontacts_v2 and
generic; facts only, no code copied) and the codec example in the TTN device repository. Every frame: [0] frame
code, [1] status (bits 7-5 frame counter, bit 2 a timestamp ends a data frame, bit 1 low battery, bit 0
configuration done); the timestamp is u32 seconds since 2013-01-01 UTC. Frames: 0x40 data (event counters of
channels A-D u16, then a state byte: bit 2n current state of channel n, bit 2n+1 its state in the previous frame;
1 = closed/on); 0x30 keep-alive (the four counters, then current states in bits 0-3); 0x41 duration alarm (channel
1-4, threshold u16 minutes: the channel stayed in its state longer than that); 0x59 time counting (a mask of the
channels present, then for each a u32 of seconds spent closed); 0x10 configuration (keep-alive and transmit
periods u16 x 10 s, channel types); generic 0x20 network configuration, 0x2f downlink acknowledgement, 0x33
register write status, 0x36 alert, 0x37 software versions.

A contact is a point ``contact_<a-d>`` (True = closed); for a cabinet door on an input wired normally closed,
False means open. Settings other than the two periods are skipped by name.
Bytes after a frame's fields are skipped and listed, the frame's values kept (as Adeunis' decoder keeps them).
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

MODEL = "Adeunis DRY CONTACTS 2"
DOMAIN = "security"
UPLINK_FPORTS = frozenset({1})
_EPOCH_2013 = 1356998400
_CHANNELS = "abcd"
_TIMESTAMPED = frozenset({0x30, 0x40, 0x41, 0x59})
_ACK_STATUS = {1: "success", 2: "error", 3: "wrong state", 4: "invalid request"}
_SETTINGS = {0x20: (4, "network configuration"), 0x33: (5, "register write status")}


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
    if code in (0x40, 0x30):
        for channel in _CHANNELS:
            out.point(f"count_{channel}", body.u16())
        states = body.u8()
        for index, channel in enumerate(_CHANNELS):
            out.point(f"contact_{channel}", bool(states >> (2 * index if code == 0x40 else index) & 1))
    elif code == 0x41:
        number = body.u8()
        if not 1 <= number <= 4:
            raise DecodeError(f"duration alarm for channel {number}, expected 1 to 4")
        out.alarm(f"duration_{_CHANNELS[number - 1]}", True)
        out.point(f"duration_threshold_{_CHANNELS[number - 1]}", body.u16() * 60, "s")
    elif code == 0x59:
        mask = body.u8()
        for index, channel in enumerate(_CHANNELS):
            if mask >> index & 1:
                out.point(f"closed_time_{channel}", body.u32(), "s")
    elif code == 0x10:
        out.point("keep_alive_interval", body.u16() * 10, "s")
        out.point("report_interval", body.u16() * 10, "s")
        body.take(4)
        out.skip("0x10 channel types")
    elif code == 0x2F:
        command = body.u8()
        out.point("downlink_ack", f"0x{command:02x} {_ACK_STATUS.get(body.u8(), 'other error')}")
    elif code == 0x36:
        out.alarm("uplink_downlink_forbidden", body.u8() == 1)
    elif code == 0x37:
        out.point("firmware_version", ".".join(str(body.u8()) for _ in range(3)))
        out.point("radio_stack_version", ".".join(str(body.u8()) for _ in range(3)))
    elif code in _SETTINGS:
        body.take(_SETTINGS[code][0] - 2)
        out.skip(f"0x{code:02x} {_SETTINGS[code][1]}")
    else:
        raise DecodeError(f"frame code 0x{code:02x} is not a DRY CONTACTS 2 frame")
    if body.remaining:  # as in Adeunis' decoder, bytes after a frame's fields do not cost its values
        out.skip(f"{body.remaining} byte(s) after the fields of frame 0x{code:02x}")
