"""A hypervisor that missed messages asks for the range again: the replay fills the gap exactly."""

from __future__ import annotations

import time
from pathlib import Path

from tests.contract.support import GATEWAY, PREFIX, Hypervisor, Pki, Schemas, TlsClient, tls_site
from tests.support.agent_proc import AgentProcess
from tests.support.broker import Broker
from tests.support.mqtt import Captured

ROOT = f"{PREFIX}/{GATEWAY}"


def seqs_in(client: TlsClient, *suffixes: str) -> list[int]:
    return [int(r["seq"]) for m in client.snapshot() if m.topic.rsplit("/", 1)[-1] in suffixes
            for r in m.json()["records"]]


def replayed_for(messages: list[Captured], request_id: str, count: int) -> list[Captured] | None:
    """The replay messages of one request, once all ``count`` records have arrived."""
    mine = [m for m in messages if m.topic == f"{ROOT}/replay" and m.json()["request_id"] == request_id]
    return mine if sum(len(m.json()["records"]) for m in mine) == count else None


def test_a_replay_request_fills_a_gap_exactly(tmp_path: Path, secure_broker: Broker, pki: Pki) -> None:
    schemas = Schemas()
    config = tls_site(tmp_path, secure_broker, pki, commands="replay_max_records = 40")
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: len(seqs_in(hypervisor, "readings")) > 30)
        # The hypervisor's consumer goes away for a while (clean session: what it misses is lost to it).
        consumer = TlsClient(secure_broker.port, pki, pki.hypervisor, subscribe=f"{ROOT}/#")
        consumer.wait_for(lambda ms: len(seqs_in(consumer, "readings")) > 20)
        seen_before = seqs_in(consumer, "readings", "events")
        consumer.close()
        time.sleep(1.0)
        consumer = TlsClient(secure_broker.port, pki, pki.hypervisor, subscribe=f"{ROOT}/#")
        consumer.wait_for(lambda ms: len(seqs_in(consumer, "readings")) > 20)
        seen = set(seen_before) | set(seqs_in(consumer, "readings", "events"))
        missing = sorted(set(range(min(seen), max(seen) + 1)) - seen)
        assert len(missing) > 40, "the gap should need more than one bounded replay"
        assert missing == list(range(missing[0], missing[-1] + 1)), "one contiguous gap"

        replayed: list[int] = []
        first, requests = missing[0], 0
        while first is not None:
            answer = hypervisor.ask("replay", {"first": first, "last": missing[-1]})
            requests += 1
            schemas.check("commandResponse", answer)
            assert answer["ok"] is True, answer
            result = answer["result"]
            assert result["count"] <= 40 and result["not_held"] == 0
            messages = hypervisor.wait_for(lambda ms, rid=answer["id"], count=result["count"]: replayed_for(
                ms, rid, count))
            for message in messages:
                schemas.check("replay", message.json())
                replayed += [int(r["seq"]) for r in message.json()["records"]]
            first = result["next"]
        assert replayed == missing, "the replay must be exactly the gap, in order, with the original seqs"
        assert requests == -(-len(missing) // 40)
        assert seen | set(replayed) == set(range(min(seen), max(seen) + 1))
        consumer.close()

        # A replay carries the very records that were first sent, with their original seqs.
        originals = {int(r["seq"]): r for m in hypervisor.snapshot(f"{ROOT}/readings") for r in m.json()["records"]}
        some = sorted(originals)[:5]
        answer = hypervisor.ask("replay", {"first": some[0], "last": some[-1]})
        again = hypervisor.wait_for(lambda ms: [r for m in ms if m.topic == f"{ROOT}/replay"
                                                and m.json()["request_id"] == answer["id"]
                                                for r in m.json()["records"]])
        assert [r for r in again if "point" in r] == [originals[seq] for seq in some]
    finally:
        agent.terminate()
        hypervisor.close()
