"""The peer scenario's edge-agent part alone, for before/after runs back to back (no peer, ~25 s a run).

    python -m bench.peer_ab fleet|shared [--warmup 5] [--seconds 15] [--max-in-flight N] [--pipelining-sim]

``fleet``: 50 devices on 50 connections; ``shared``: 50 units behind one server. Prints one JSON line with the
figures the peer scenario gives for our agent. The agent run is the one of the tree this is started from (its
current directory comes first on the path), so an older release is measured with ``cd <its tree> &&
PYTHONPATH=<its tree> python <this file> ...`` as long as it has ``bench.peer`` (the options it lacks left out).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.getcwd())

from bench import peer, site  # after the path: the tree measured is the current directory's
from bench.common import Mosquitto
from bench.hypervisor import Hypervisor
from bench.procs import Children, free_block, run_folder, wait_port
from edge_agent.modbus.profile import load_profile

DEVICES, PERIOD = 50, 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["fleet", "shared"])
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--max-in-flight", type=int, default=0, help="set on every device (default: not set)")
    parser.add_argument("--pipelining-sim", action="store_true", help="simulated servers taking pipelined requests")
    args = parser.parse_args()
    shared = args.kind == "shared"
    folder = run_folder("peer-ab-")
    children = Children(folder)
    broker = Mosquitto.start()
    try:
        base = free_block(1 if shared else DEVICES)
        children.python("sim", "-m", "bench.sim", "tcp-shared" if shared else "tcp-fleet", "--port", str(base),
                        "--count", str(DEVICES), "--profile", peer.PROFILE,
                        *(["--pipelining"] if args.pipelining_sim else []))
        wait_port(base if shared else base + DEVICES - 1)
        slaves = [(base, i + 1) for i in range(DEVICES)] if shared else [(base + i, 1) for i in range(DEVICES)]
        extra = {"max_in_flight": args.max_in_flight} if args.max_in_flight else {}
        config = site.base_site(folder, broker.port)
        config["devices"] = [{"driver": "modbus", "name": f"dev-{i:03d}", "profile": peer.PROFILE, "host": "127.0.0.1",
                              "port": port, "unit": unit, "poll_interval": PERIOD, **extra}
                             for i, (port, unit) in enumerate(slaves)]
        path = site.write(folder, config)
        hypervisor = Hypervisor(broker.port, "fute/bench-gw/readings")
        try:
            proc = children.python("agent", "-m", "edge_agent", "run", "--config", str(path), "--log-format", "json")
            if hasattr(peer, "measure_ours"):
                got = peer.measure_ours(proc.pid, hypervisor, args.warmup, args.seconds)
            else:  # a tree from before 30 November, 15:30: its count of arrivals (see bench/peer.py)
                got = peer._measure(proc.pid, lambda: hypervisor.readings, args.warmup, args.seconds)
            children.stop(proc)
        finally:
            hypervisor.close()
        asked = DEVICES * len(load_profile(peer.PROFILE).points) / PERIOD
        print(json.dumps({"kind": args.kind, "max_in_flight": args.max_in_flight or 1, **got,
                          "share of asked": round(got["points/s"] / asked, 3)}), flush=True)
    finally:
        children.close()
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
