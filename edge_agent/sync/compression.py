"""Optional compression of published batches (pure): ``deflate`` is zlib (RFC 1950) of the JSON batch.

A zlib stream's first byte is 0x78 and a JSON batch's is ``{``: the payload declares its own encoding, so the
hypervisor tells them apart without another topic. Off by default; measured in bench/fleet_bench.py (about
124 bytes per reading as JSON, 9-11 deflated, in batches of 100-500 readings).
"""

from __future__ import annotations

import zlib
from typing import Literal

Compression = Literal["none", "deflate"]


def compress(payload: bytes, method: Compression) -> bytes:
    return zlib.compress(payload, 6) if method == "deflate" else payload
