"""Devices of one profile share its compiled read plan (the daemon's memory: 40 cabinets of two models hold two
plans, not forty); each device still has its own poller, line and health."""

from __future__ import annotations

from edge_agent.modbus.modbus_service import build_pollers, modbus_devices, site_modbus
from tests.modbus.helpers import ListSink, context, device, site


def test_devices_of_one_profile_share_its_compiled_plan() -> None:
    config = site([device("a", "eastron_sdm120", host="127.0.0.1", port=1502, unit=1),
                   device("b", "eastron_sdm120", host="127.0.0.1", port=1503, unit=1),
                   device("c", "eastron_sdm120", host="127.0.0.1", port=1504, unit=1, max_gap=0),
                   device("d", "streetlight_cabinet_4c", host="127.0.0.1", port=1505, unit=1)])
    ctx = context(config, ListSink())
    _lines, pollers = build_pollers(ctx, site_modbus(ctx), modbus_devices(ctx))
    a, b, c, d = pollers
    assert [p.name for p in pollers] == ["a", "b", "c", "d"]
    assert a.plan == b.plan and all(x is y for x, y in zip(a.plan, b.plan, strict=True))
    assert a.plan is not b.plan and a.health is not b.health
    assert not any(x is y for x in c.plan for y in a.plan), "another max_gap is another plan"
    assert not any(x is y for x in d.plan for y in a.plan)
