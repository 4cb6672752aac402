"""Writes through the service to a real pymodbus TCP server: validated, written, read back."""

from __future__ import annotations

from typing import Any

import pytest

from edge_agent.errors import WriteRejected
from edge_agent.modbus.modbus_service import build_service
from edge_agent.modbus.profile import load_profile
from edge_agent.modbus.simulator import make_units, start_tcp
from edge_agent.modbus.writes import prepare_write
from tests.modbus.helpers import ListSink, context, device, run_async, site
from tests.support.ports import free_port


@pytest.mark.parametrize(
    ("point", "value", "reason"),
    [
        ("mains_voltage", 230, "read-only"),
        ("circuit1_level", 101, "above the maximum"),
        ("circuit1_level", -1, "below the minimum"),
        ("circuit1_level", True, "takes a number"),
        ("circuit1_level", float("nan"), "takes a number"),
        ("circuit1_on", 2, "takes true/false"),
        ("no_such_point", 1, "no point"),
    ],
)
def test_profile_rejects_bad_writes(point: str, value: Any, reason: str) -> None:
    with pytest.raises(WriteRejected, match=reason):
        prepare_write(load_profile("streetlight_cabinet_4c"), point, value)


def test_scaled_write_encodes_raw_register() -> None:
    prepared = prepare_write(load_profile("traffic_counter"), "pulse_weight", 0.25)
    assert prepared.registers == [250]


def test_writes_are_confirmed_by_reading_back() -> None:
    async def scenario() -> Any:
        port = free_port()
        units = make_units({1: "streetlight_cabinet_4c", 2: "streetlight_cabinet_4c"})
        units[2].mode = "exception"
        server = await start_tcp(units, port)
        service = build_service(context(site([
            device("cabinet", "streetlight_cabinet_4c", host="127.0.0.1", port=port, unit=1),
            device("broken", "streetlight_cabinet_4c", host="127.0.0.1", port=port, unit=2),
        ]), ListSink()))
        assert service is not None
        results = [
            await service.write_point("cabinet", "circuit2_level", 40),
            await service.write_point("cabinet", "circuit1_on", False),
            await service.write_point("cabinet", "circuit1_level", 140),
            await service.write_point("cabinet", "energy", 1.0),
            await service.write_point("broken", "circuit1_level", 10),
        ]
        readings = {r.point: r.value for r in await service.read_device("cabinet")}
        await service.stop()
        await server.shutdown()
        return results, units, readings

    results, units, readings = run_async(scenario())
    level, switch, too_high, read_only, broken = results
    assert level.ok and level.read_back == 40 and units[1].tables["holding"][1] == 40
    assert switch.ok and switch.read_back is False and units[1].tables["coil"][0] == 0
    assert readings["circuit2_level"] == 40 and readings["circuit1_on"] is False
    assert not too_high.ok and "above the maximum 100" in too_high.reason
    assert not read_only.ok and "read-only" in read_only.reason
    assert not broken.ok and "exception 4" in broken.reason
    assert units[2].requests == 1, "one write attempt, no read-back after a refused write"
