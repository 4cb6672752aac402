"""A real pymodbus TCP server with simulated units, as its own process: ``python -m tests.cli.modbus_sim PORT``."""

from __future__ import annotations

import asyncio
import sys

from edge_agent.modbus.simulator import make_units, start_tcp

UNITS = {1: "eastron_sdm120", 2: "streetlight_cabinet_4c"}


async def main(port: int) -> None:
    units = make_units(UNITS)
    await start_tcp(units, port)
    while True:
        await asyncio.sleep(0.5)
        for unit in units.values():
            unit.tick()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
