"""edge_agent.collector: what the daemon does to Python's cyclic garbage collector once started.

In a Python of its own (a frozen heap would stay frozen in the test process)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import gc, json, weakref
from edge_agent.collector import YOUNG, settle

class Node:
    pass

def cycle(flag):
    node = Node()
    node.me = node
    weakref.finalize(node, flag.append, True)

built = [[i] for i in range(50_000)]  # what starting builds and keeps
left = []
cycle(left)  # what starting leaves behind
settle()
out = {"left collected": left == [True], "frozen": gc.get_freeze_count(), "young": gc.get_threshold()[0],
       "YOUNG": YOUNG}
later = []
cycle(later)
out["cycle after settle, at once"] = later == [True]
kept = [[i] for i in range(YOUNG + 100)]  # enough allocations for a pass over the young
out["cycle after settle, once enough allocated"] = later == [True]
counts = []
gc.callbacks.append(lambda phase, info: phase == "stop" and counts.append(info["generation"]))
kept += [[i] for i in range(5 * YOUNG)]
out["passes over 5 x YOUNG allocations"] = len(counts)
print(json.dumps(out))
"""


def test_settling_freezes_what_start_built_and_still_collects_cycles_later() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True)
    out = json.loads(done.stdout)
    assert out["left collected"]  # settling collects first: what start left is not frozen for ever
    assert out["frozen"] >= 50_000  # start's objects out of the collector's reach
    assert out["young"] == out["YOUNG"] > 700
    assert not out["cycle after settle, at once"]
    assert out["cycle after settle, once enough allocated"]  # cycles are still collected, later
    assert 4 <= out["passes over 5 x YOUNG allocations"] <= 6  # one pass each YOUNG allocations, not each 700
