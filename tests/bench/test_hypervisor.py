"""The bench's hypervisor counts readings by the time they were taken, whatever burst brought them (real Mosquitto)."""

from __future__ import annotations

import json
import time

from paho.mqtt import publish

from bench.hypervisor import Hypervisor
from tests.support.broker import Broker

TOPIC = "fute/bench-gw/readings"
T0 = 1_790_000_000.0


def batch(times: list[float]) -> str:
    records = [{"seq": n, "ts": f"2026-09-21T14:13:{20 + at - T0:06.3f}Z", "device": "d", "point": "p", "value": 1}
               for n, at in enumerate(times)]
    records.append({"seq": 99, "ts": "2026-09-21T14:13:20.000Z", "event": "device_online"})  # not a reading
    return json.dumps({"v": 1, "records": records})


def test_readings_taken_in_a_window_are_counted_by_their_own_time(broker: Broker) -> None:
    hypervisor = Hypervisor(broker.port, TOPIC)
    try:
        time.sleep(0.5)  # subscribed
        # one burst holding readings taken before, in and after the window [T0 + 1.0, T0 + 2.0)
        publish.single(TOPIC, batch([T0 + 0.95, T0 + 1.0, T0 + 1.05, T0 + 1.55, T0 + 1.99, T0 + 2.0]), qos=1,
                       port=broker.port)
        deadline = time.monotonic() + 5
        while hypervisor.readings < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hypervisor.readings == 6  # the event is not a reading
        assert hypervisor.taken_between(T0 + 1.0, T0 + 2.0) == (4, 1.0)
        assert hypervisor.taken_between(T0 + 1.02, T0 + 1.98) == (1, 0.8)  # whole tenths only: 1.1 to 1.9
    finally:
        hypervisor.close()
