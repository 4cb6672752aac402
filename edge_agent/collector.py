"""Python's cyclic garbage collector, set for a long-lived daemon.

Reference counting frees nearly everything the agent makes (a reading lives about a second: polled, committed,
sent); the cyclic collector is only for what refers to itself (an exception and its traceback, say). By default it
looks at every container allocated since its last pass each 700 allocations, and now and then at everything alive:
at the peer workload (6,500 points a second) 16 passes a second, 4 % of the daemon's CPU, each reading traversed
about twice before it dies, and the objects made at start (modules, compiled config, device book: ~30,000)
traversed again at each full pass. ``settle``, once the agent has started:

- collects what starting left, then moves every object alive out of the collector's reach (``gc.freeze``): most
  live as long as the process and are never traversed again; one freed later is freed by its count as before,
  but a cycle of them is kept (a connection made at start and replaced since, say): bounded by what start built;
- passes over the young every ``YOUNG`` allocations: by then most of them are already freed.

Cycles made after start are still collected, only later.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # allocations of containers between two passes over the young (Python's default: 700)


def settle() -> None:
    """Collect, freeze what is alive, and space the passes (see the module's note); for a process that stays up."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
