"""The signal view's memory of a device's last uplinks: packed, and shown as from the radio metadata it came from."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from chirpstack_api import integration
from google.protobuf import json_format

from bench.lorawan_bench import _event
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.lorawan.event_parsing import parse_event
from edge_agent.lorawan.events import Radio, Reception, UplinkFrame, parse_topic
from edge_agent.lorawan.signal_log import PackedUplink, pack, unpack
from edge_agent.lorawan.uplinks import DeviceTable
from tests.support.memory import traced


def test_an_uplink_is_shown_as_its_radio_metadata_came_whatever_it_lacked() -> None:
    two = Radio(gateway_id="0016c001ff10a236", rssi=-97, snr=7.25, spreading_factor=7, frequency=868_300_000,
                bandwidth=125_000, gateways=2,
                receptions=(Reception("0016c001ff10a236", -97, 7.25), Reception("0016c001ff10a999", -118, None)))
    assert unpack(pack(1_790_000_000.123456, 2**32 - 1, two)) == {
        "ts": 1_790_000_000.123456, "f_cnt": 2**32 - 1, "spreading_factor": 7, "bandwidth": 125_000,
        "frequency": 868_300_000,
        "gateways": [{"gateway": "0016c001ff10a236", "rssi": -97, "snr": 7.25},
                     {"gateway": "0016c001ff10a999", "rssi": -118, "snr": None}]}
    assert unpack(pack(5.0, 0, Radio())) == {"ts": 5.0, "f_cnt": 0, "spreading_factor": None, "bandwidth": None,
                                             "frequency": None, "gateways": []}
    extreme = Radio(receptions=(Reception("gw", -(2**31), -20.5),))
    assert unpack(pack(0.0, 1, extreme))["gateways"] == [{"gateway": "gw", "rssi": -(2**31), "snr": -20.5}]


def test_the_same_gateways_are_one_tuple_from_one_uplink_to_the_next() -> None:
    def radio(gateway: str) -> Radio:
        return Radio(receptions=(Reception(gateway, -90, 5.0),))

    first = pack(1.0, 1, radio("gw-a"))
    second = pack(2.0, 2, radio("gw-a"), first)
    third = pack(3.0, 3, radio("gw-b"), second)
    assert second[1] is first[1]
    assert third[1] == ("gw-b",) and unpack(third)["gateways"][0]["gateway"] == "gw-b"


def test_ten_uplinks_of_five_hundred_nodes_take_under_200_bytes_each_against_448_as_parsed() -> None:
    """A commune's 500 nodes, each heard ten times (the signal view's depth): the uplinks parsed from ChirpStack's
    JSON as the intake parses them, and only the packed entries kept. Kept as parsed (time, fCnt and ``Radio``)
    the same uplinks took 448 bytes each."""
    messages = []
    for index in range(5000):
        name, raw = _event(index, 500, "json")
        event = json.loads(raw)
        event["rxInfo"][0].update(rssi=-60 - index % 57, snr=-5 + index % 80 * 0.25)
        messages.append((parse_topic(name), json.dumps(event).encode()))
    with traced():
        before = tracemalloc.get_traced_memory()[0]
        last: dict[str, PackedUplink] = {}
        kept: list[PackedUplink] = []
        for topic, payload in messages:
            uplink = parse_event(topic, payload, "json")
            assert isinstance(uplink, UplinkFrame)
            packed = pack(time.time(), uplink.f_cnt, uplink.radio, last.get(uplink.dev_eui))
            last[uplink.dev_eui] = packed
            kept.append(packed)
        del uplink, packed
        held = tracemalloc.get_traced_memory()[0] - before - 5000 * 8  # the list's slots are the test's own
    assert unpack(kept[-1])["gateways"][0]["rssi"] == -60 - 4999 % 57
    assert held / 5000 < 200, f"{held / 5000:.0f} bytes an uplink"


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_status_shows_the_best_reception_of_the_last_uplink_as_the_parser_picked_it(encoding: str) -> None:
    """Three gateways, the strongest second in ChirpStack's list and two at the same RSSI: ``status`` shows the
    gateway, RSSI and SNR the parser picked as the best (the track keeps only the packed uplinks)."""
    name, raw = _event(3, 500, "json")
    event = json.loads(raw)
    event["rxInfo"] = [{"gatewayId": "0016c001ff10a001", "rssi": -110, "snr": -2.5, "crcStatus": "CRC_OK"},
                       {"gatewayId": "0016c001ff10a002", "rssi": -80, "snr": 9.25, "crcStatus": "CRC_OK"},
                       {"gatewayId": "0016c001ff10a003", "rssi": -80, "snr": 1.0, "crcStatus": "CRC_OK"}]
    event["txInfo"]["modulation"]["lora"]["spreadingFactor"] = 10
    payload = json.dumps(event).encode()
    if encoding == "protobuf":
        payload = bytes(json_format.ParseDict(event, integration.UplinkEvent(),
                                              ignore_unknown_fields=True).SerializeToString())
    uplink = parse_event(parse_topic(name), payload, encoding)
    assert isinstance(uplink, UplinkFrame)
    config = LorawanDeviceConfig(driver="lorawan", name="bin", dev_eui=uplink.dev_eui, codec="dragino_ldds75")
    table = DeviceTable([config], now_mono=0.0)
    track = table.by_name("bin")
    assert track is not None
    assert {key: track.status()[key] for key in ("gateway", "rssi", "snr", "spreading_factor")} == \
        {"gateway": None, "rssi": None, "snr": None, "spreading_factor": None}
    table.heard(track, f_cnt=uplink.f_cnt, radio=uplink.radio, wall=1.0, mono=1.0)
    radio = uplink.radio
    assert (radio.gateway_id, radio.rssi, radio.snr, radio.spreading_factor) == ("0016c001ff10a002", -80, 9.25, 10)
    assert {key: track.status()[key] for key in ("gateway", "rssi", "snr", "spreading_factor")} == \
        {"gateway": radio.gateway_id, "rssi": radio.rssi, "snr": radio.snr, "spreading_factor": 10}
    table.heard(track, f_cnt=uplink.f_cnt + 1, radio=Radio(), wall=2.0, mono=2.0)  # heard with no radio metadata
    assert {key: track.status()[key] for key in ("gateway", "rssi", "snr", "spreading_factor")} == \
        {"gateway": None, "rssi": None, "snr": None, "spreading_factor": None}
