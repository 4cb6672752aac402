"""Simulated Modbus devices for the harness, run as a child process so the agent's CPU is measured alone.

    python -m bench.sim tcp-fleet --port P --count N --profile NAME    one server (unit 1) per port P..P+N-1
    python -m bench.sim tcp-shared --port P --count N --profile NAME   one server, units 1..N behind it
    python -m bench.sim rtu --tty PATH --count N --profile NAME [--pace-baud B]

``--pipelining`` (TCP): the servers take several requests at once on a connection, answering each (pymodbus's own
server answers one request at a time).

``--pace-baud`` paces the RTU simulator: before answering it waits as long as the request and its reply would
take on an RS-485 wire at that baud rate (11-bit characters, 3.5 character times of silence after each frame,
at least 1.75 ms), since a socat pty pair moves bytes at memory speed.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from edge_agent.modbus import simulator
from edge_agent.modbus.simulator import SimContext, SimUnit

REQUEST_BYTES = 8  # unit, function, address (2), count (2), CRC (2)


def frame_seconds(frame_bytes: int, baud: int) -> float:
    """Time one RTU frame holds the line, including the inter-frame silence that follows it."""
    char = 11 / baud
    gap = max(3.5 * char, 0.00175) if baud > 19_200 else 3.5 * char
    return frame_bytes * char + gap


def transaction_seconds(registers: int, baud: int, bits: bool = False) -> float:
    """Wire time of one read: the request, then the reply carrying ``registers`` registers (or bits)."""
    payload = (registers + 7) // 8 if bits else 2 * registers
    return frame_seconds(REQUEST_BYTES, baud) + frame_seconds(5 + payload, baud)


class PacedContext(SimContext):
    """Answers only after the modelled wire time of the transaction at ``baud``."""

    def __init__(self, units: dict[int, SimUnit], baud: int) -> None:
        super().__init__(units)
        self.baud = baud

    async def async_getValues(  # noqa: N802 (pymodbus' name)
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        await asyncio.sleep(transaction_seconds(count, self.baud, bits=func_code in (1, 2)))
        return await super().async_getValues(device_id, func_code, address, count)


async def _serve(args: argparse.Namespace) -> None:
    units = list(range(1, args.count + 1))
    if args.mode == "tcp-fleet":
        await simulator.serve_tcp_fleet(args.port, [args.profile] * args.count, pipelining=args.pipelining)
    elif args.mode == "tcp-shared":
        await simulator.start_tcp(simulator.make_units(dict.fromkeys(units, args.profile)), args.port,
                                  pipelining=args.pipelining)
    else:
        made = simulator.make_units(dict.fromkeys(units, args.profile))
        server = await simulator.start_rtu(made, args.tty, baudrate=args.pace_baud or 9600, parity="N")
        if args.pace_baud:
            server.context = PacedContext(made, args.pace_baud)
    print("serving", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["tcp-fleet", "tcp-shared", "rtu"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tty", default="")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--profile", default="eastron_sdm120")
    parser.add_argument("--pace-baud", type=int, default=0)
    parser.add_argument("--pipelining", action="store_true")
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
