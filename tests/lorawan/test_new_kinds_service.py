"""The device kinds added for breadth, end to end: ChirpStack events through a real Mosquitto into a real store.

A cabinet door contact, a parking sensor, a leak sensor, a water-level probe whose reading failed and a
lighting-circuit relay controller: their points are committed, their alarms raise ``device_alarm`` events, and a
value the device flags as failed is stored with bad quality rather than lost or invented.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edge_agent.reading import Quality, Reading
from tests.lorawan.support import (
    Publisher,
    StoreSink,
    encode,
    event_topic,
    make_service,
    site,
    uplink_event,
    wait_connected,
    wait_until,
)
from tests.support.broker import Broker

DOOR, PARKING, LEAK, LEVEL, RELAYS = ("24e124148b231001", "fcd6bd0000001002", "24e124136b321003",
                                      "24e124126c091004", "70b3d5aaaa001005")
DEVICES: list[dict[str, Any]] = [
    {"driver": "lorawan", "name": "armoire-ep-mairie-porte", "dev_eui": DOOR, "codec": "milesight_ws301"},
    {"driver": "lorawan", "name": "place-marche-01", "dev_eui": PARKING, "codec": "bosch_parking_lot_sensor"},
    {"driver": "lorawan", "name": "sous-sol-mairie-fuite", "dev_eui": LEAK, "codec": "milesight_em300_zld"},
    {"driver": "lorawan", "name": "ruisseau-niveau", "dev_eui": LEVEL, "codec": "milesight_em500_swl"},
    {"driver": "lorawan", "name": "armoire-ep-mairie-relais", "dev_eui": RELAYS, "codec": "yobiiq_rm200"},
]
UPLINKS = [(DOOR, "017564030001040000", 85), (PARKING, "01", 1), (LEAK, "01755c03673401046865050001", 85),
           (LEVEL, "0175640377ffff", 85), (RELAYS, "dd9501dd9803", 1)]


def test_new_device_kinds_are_decoded_committed_and_alarmed(broker: Broker, tmp_path: Path) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def scenario() -> None:
        service = make_service(site(broker.port, DEVICES), sink)
        publisher = Publisher(broker.port)
        await service.start()
        try:
            await wait_connected(service)
            for f_cnt, (dev_eui, payload, f_port) in enumerate(UPLINKS, start=1):
                event = uplink_event(dev_eui, payload, f_cnt=f_cnt, f_port=f_port)
                await publisher.asend(event_topic(dev_eui, "up"), encode(event, "up", "json"))
            await wait_until(lambda: "relay_2" in sink.readings("armoire-ep-mairie-relais"))
            await wait_until(lambda: "water_depth" in sink.readings("ruisseau-niveau"))
        finally:
            publisher.close()
            await service.stop()

    asyncio.run(scenario())
    door = sink.readings("armoire-ep-mairie-porte")
    assert door["door"] == "open" and door["alarm.door_open"] is True and door["alarm.tamper"] is False
    assert sink.readings("place-marche-01")["occupied"] is True
    assert sink.readings("sous-sol-mairie-fuite")["alarm.leak"] is True
    relays = sink.readings("armoire-ep-mairie-relais")
    assert relays["relay_1"] is True and relays["relay_2"] is True and relays["relay_2_source"] == "button"
    (depth,) = [r for r in sink.records() if isinstance(r, Reading) and r.point == "water_depth"]
    assert depth.value is None and depth.quality is Quality.BAD
    assert sink.readings("ruisseau-niveau")["battery"] == 100
    raised = {(e.device, e.data["alarm"]) for e in sink.events("device_alarm")}
    assert raised == {("armoire-ep-mairie-porte", "door_open"), ("sous-sol-mairie-fuite", "leak")}
    sink.close()
