"""Fuzz target: one ChirpStack v4 event message, JSON or protobuf, of any type, for a known or unknown device,
through the agent's parser and ingest and into a real store. The promise: nothing escapes but the records, and
every record can be stored, read back and encoded for the hypervisor, stamped with a time of 2000-2100.

The first byte picks the message: bit 0 the encoding (0 JSON, 1 protobuf), bits 1-3 the event type; the second
byte the device (one per shipped codec, in the order of ``codecs()``, then an unknown devEui); the rest is the
message's payload.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

from edge_agent.catalog import Catalog
from edge_agent.clock import FakeClock
from edge_agent.config.store import StoreConfig
from edge_agent.lorawan.codecs import default_registry
from edge_agent.lorawan.config import CHIRPSTACK_CODEC, BinGeometry, LorawanDeviceConfig, ObjectField
from edge_agent.lorawan.events import EVENT_TYPES, Encoding
from edge_agent.lorawan.intake import EventIntake
from edge_agent.reading import Reading
from edge_agent.store.store import Store
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import build_batch

APP = "0b8a4c1e-2f4d-4b8e-9a51-6c3d2e1f0a97"
UNKNOWN_EUI = "00000000000000ff"
_FRESH_STORE_EVERY = 5000  # a long run starts a new store now and then instead of filling one
FIRST_TS, END_TS = 946_684_800.0, 4_102_444_800.0  # 2000-01-01 and 2100-01-01, UTC


# The codecs the seed corpus was written against keep their device numbers; codecs added later come after them.
SEEDED_CODECS = ("dingtek_df702", "dragino_ldds75", "dragino_lt22222l", "imbuildings_people_counter",
                 "milesight_em310_udl", "milesight_ws558", "nas_ul20xx", "parametric_pcr2")


# A device ChirpStack decodes itself: the fields of its ``object`` the site keeps.
OBJECT_FIELDS = [
    ObjectField(path="temperature", point="temperature", unit="°C", valid_min=-40, valid_max=85),
    ObjectField(path="sensors.0.value", point="level", scale=0.1),
    ObjectField(path="leak", alarm="leak"),
    ObjectField(path="status", flags={0: "low_battery", 63: "tamper"}),
    ObjectField(path="battery", point="battery", battery=True),
]


def codecs() -> list[str]:
    """The payload codecs, seeded ones first, then ChirpStack's own decoding (``object``)."""
    shipped = default_registry().names()
    return [*SEEDED_CODECS, *sorted(set(shipped) - set(SEEDED_CODECS)), CHIRPSTACK_CODEC]


def devices() -> list[LorawanDeviceConfig]:
    return [LorawanDeviceConfig(driver="lorawan", name=f"dev-{index}", dev_eui=f"{index + 1:016x}", codec=codec,
                                bin=BinGeometry(d_empty_mm=1500, d_full_mm=250),
                                object_fields=OBJECT_FIELDS if codec == CHIRPSTACK_CODEC else [])
            for index, codec in enumerate(codecs())]


def topic_for(head: bytes, euis: list[str]) -> tuple[Encoding, str]:
    encoding: Encoding = "protobuf" if head[0] & 1 else "json"
    event = EVENT_TYPES[(head[0] >> 1 & 0b111) % len(EVENT_TYPES)]
    index = (head[1] if len(head) > 1 else 0) % (len(euis) + 1)
    eui = euis[index] if index < len(euis) else UNKNOWN_EUI
    return encoding, f"application/{APP}/device/{eui}/event/{event}"


def header(encoding: Encoding, event: str, device: int) -> bytes:
    """The two bytes that pick this encoding, event type and device (the inverse of ``topic_for``)."""
    return bytes([(1 if encoding == "protobuf" else 0) | (EVENT_TYPES.index(event) << 1), device])


class _Bench:
    def __init__(self) -> None:
        self.devices = devices()
        self.euis = [device.dev_eui for device in self.devices]
        self.clock = FakeClock(1_796_000_000.0)
        catalog = Catalog(())  # the bundled drivers only
        self.ingests = {encoding: EventIntake(self.devices, catalog, self.clock, encoding)
                        for encoding in ("json", "protobuf")}
        self.directory = Path(tempfile.mkdtemp(prefix="edge-agent-fuzz-cs-", dir=_shm()))
        self.messages = 0
        self.store = self._open()

    def _open(self) -> Store:
        return Store.open(StoreConfig(path=self.directory / f"store-{self.messages}.db", max_bytes=50_000_000,
                                      synchronous="normal"))

    def fresh_store(self) -> None:
        path = self.store.path
        self.store.close()
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        self.store = self._open()

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _shm() -> str | None:
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


_bench: _Bench | None = None


def bench() -> _Bench:
    global _bench
    if _bench is None:
        _bench = _Bench()
    return _bench


def close() -> None:
    global _bench
    if _bench is not None:
        _bench.close()
        _bench = None


def target(data: bytes) -> None:
    if not data:
        return
    state = bench()
    state.messages += 1
    if state.messages % _FRESH_STORE_EVERY == 0:
        state.fresh_store()
    state.clock.advance(1.0)
    encoding, topic = topic_for(data[:2], state.euis)
    outcome = state.ingests[encoding].handle(topic, data[2:])
    if not outcome.records:
        return
    for record in outcome.records:
        assert FIRST_TS <= record.ts < END_TS, f"{record} is stamped outside 2000-2100"
        if isinstance(record, Reading) and isinstance(record.value, float):
            assert math.isfinite(record.value), f"{record} carries a non-finite value"
    seqs = state.store.append(outcome.records)
    stored = state.store.history(seqs[0], seqs[-1])
    batch = build_batch("gw-fuzz", Lane.EVENTS, stored, 10**9, state.clock.now())
    assert batch.seqs == seqs, "a record the hypervisor could not be sent"
