"""One fuzz target under atheris (libFuzzer), in a process of its own; started by ``tests.fuzz.run``.

    python -m tests.fuzz.harness TARGET STATS.json [libFuzzer flags and corpus directories ...]

The target is warmed up on its committed corpus (the gateway started, the codecs loaded), then the agent's code
(``edge_agent``, the codecs loaded by path, ``tomllib``) is instrumented for coverage and libFuzzer drives it.
Every ``SAMPLE_EVERY`` inputs the process notes its resident memory into STATS.json, which the runner reads for
the memory figures (libFuzzer's own ``rss:`` is a peak, which cannot show a slope).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path

INSTRUMENTED = ("edge_agent", "tomllib")
SAMPLE_EVERY = 500
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_KIB


class Meter:
    """Counts the inputs and notes resident memory now and then, written where the runner reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.inputs = 0
        self.samples: list[tuple[int, int]] = []

    def tick(self) -> None:
        self.inputs += 1
        if self.inputs == 1 or self.inputs % SAMPLE_EVERY == 0:
            self.samples.append((self.inputs, rss_kib()))
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"inputs": self.inputs, "samples": self.samples}))
            tmp.replace(self.path)


def quiet_logs() -> None:
    """The agent's log lines dropped (a million of them would cost more than the inputs); a test that captures
    them (``edge_agent.logs.capture_logs``) still sees them."""
    from edge_agent.logs import silence

    silence()


def instrument(prefixes: tuple[str, ...] = INSTRUMENTED) -> int:
    """Add atheris's coverage counters to every loaded function of those modules; how many."""
    import atheris

    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and str(getattr(obj, "__module__", "")).startswith(prefixes):
            try:
                atheris.instrument_func(obj)
            except Exception as exc:  # a function atheris cannot rewrite stays uninstrumented, said once
                print(f"INFO: not instrumented: {obj.__qualname__}: {exc}", file=sys.stderr)
                continue
            count += 1
    return count


def main(argv: list[str]) -> None:
    import atheris

    from tests.fuzz.targets import seeds, target

    name, stats = argv[1], Path(argv[2])
    quiet_logs()
    function = target(name)
    for seed in seeds(name):
        function(seed.read_bytes())
    print(f"INFO: instrumented {instrument()} functions of {', '.join(INSTRUMENTED)}", file=sys.stderr)
    meter = Meter(stats)

    def one(data: bytes) -> None:
        meter.tick()
        function(data)

    run: Callable[[bytes], None] = one
    # libFuzzer's merge starts this harness again by the first argument: the runner passes a script that can.
    atheris.Setup([os.environ.get("EDGE_AGENT_FUZZ_SELF", argv[0]), *argv[3:]], run)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
