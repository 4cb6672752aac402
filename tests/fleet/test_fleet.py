"""Fifty gateways (the real UplinkSync and MqttClient, each with its own SQLite store and client id) and two ingest
workers against a real Mosquitto and a real PostgreSQL: a broker restart loses nothing and duplicates nothing,
and a range that never reached the broker is found as a gap and repaired by replay. Half the gateways deflate
their batches; the ingest reads both encodings."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg

from bench.fleet_bench import Fleet, FleetOptions, landed, start_ingest
from edge_agent.hypervisor import db
from edge_agent.hypervisor.gaps import ReplayPolicy
from tests.support.broker import Broker

GATEWAYS = 50


async def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _scenario(tmp_path: Path, broker: Broker, dsn: str) -> None:
    policy = ReplayPolicy(grace=1.0, retry_after=3.0, max_attempts=5, max_per_tick=50)
    ingest = start_ingest(broker.port, dsn, 2, policy, scan_interval=0.5)
    fleet = Fleet(GATEWAYS, tmp_path / "fleet", broker.port, FleetOptions(reconnect_min=0.3, reconnect_max=2.0,
                                                                                  deflate_every=2))
    try:
        await fleet.start()
        await _wait(lambda: fleet.connected() == GATEWAYS, 30, "every gateway connected")
        production = asyncio.create_task(fleet.run_production(8.0, per_tick=4, tick=0.4))
        await asyncio.sleep(2.0)
        await asyncio.to_thread(broker.restart, 1.0)
        await asyncio.sleep(1.0)
        lost = await fleet.gateways[7].produce(25, skip_upstream=True)
        await production
        done, _ = await fleet.wait_all_landed(dsn, timeout=60)
        want = await fleet.committed()
        have, rows = await asyncio.to_thread(landed, dsn)
        missing = {g: sorted(want[g] - have.get(g, set()))[:10] for g in want if want[g] - have.get(g, set())}
        assert done and not missing, f"records never landed: {missing}"
        assert have == want, "rows in PostgreSQL that no gateway committed"
        assert rows == sum(len(s) for s in want.values()), "duplicate rows"
        assert set(lost) <= have["gw-0007"]
        assert fleet.gateways[7].replays_served >= len(lost), "the skipped range must come back by replay"
        assert sum(w.counters.replay_requests for w in ingest) >= 1
        assert all(w.counters.rows_inserted > 0 for w in ingest), "both workers share the load"
        with psycopg.connect(dsn, autocommit=True) as conn:
            await _wait(lambda: all(r["gaps_open"] == 0 for r in db.freshness(conn)), 10, "no gap left open")
            fresh = db.freshness(conn)
        assert len(fresh) == GATEWAYS and all(r["silent_s"] < 30 for r in fresh)
    finally:
        await fleet.stop()
        for worker in ingest:
            await asyncio.to_thread(worker.stop)


def test_fifty_gateways_two_workers_broker_restart_and_replayed_gap(tmp_path: Path, broker: Broker,
                                                                   pg_dsn: str) -> None:
    asyncio.run(_scenario(tmp_path, broker, pg_dsn))
