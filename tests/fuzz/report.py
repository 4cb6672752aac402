"""The "Fuzzing" section of ``docs/reliability.md``, from the figures ``python -m tests.fuzz.run`` wrote
(``build/fuzzing.json``). ``tests/faults/report.py`` puts it in the document: whole with the fault suite's
figures, or alone with ``--fuzzing`` (the rest of the document left as it was generated)."""

from __future__ import annotations

from typing import Any

TITLE = "## Fuzzing: a million hostile inputs"

INTRO = """
Every surface the outside world writes to is fuzzed, coverage-guided (atheris, libFuzzer's engine, counting
branches in the agent's own code, the codecs it loads by path and `tomllib`), through the same targets the default
suite replays (`tests/fuzz/`, one module per target, each saying what its promise and its clean error are):

- **codecs**: an uplink payload on any fPort through each of the {codecs} shipped LoRaWAN codecs, called raw; a
  `Decoded` or a `DecodeError`, a point without a value only when BAD, percentages within 0-100;
- **chirpstack**: a ChirpStack v4 event (JSON or protobuf, every event type, each codec's device and an unknown
  one) through the parser, the ingest and into a real store; records only, each storable and sendable upstream;
- **commands**: a hypervisor command request through the parser and dispatcher of a running agent; exactly one
  valid answer, no exception logged;
- **config**: the bytes of a site config file; a config, or one `PATH: key: message` line per problem;
- **control**: what a client writes on the running agent's control socket; one JSON reply per request line.

A *crash* is anything else: an exception other than the clean error, or a broken promise; a *hang* an input
that takes more than {timeout} s. Memory is the harness process's resident set, sampled every 500 inputs after
warm-up (its own corpus, which libFuzzer keeps in memory, is part of it); the slopes are least-squares fits over
the whole run and over its second half. For scale: a leak of 100 bytes an input would show as about 9,800 KiB
per 100k inputs.
"""

FOUND = """
What the fuzzing found, and what changed (each input is in `tests/fuzz/corpus/`, replayed by the default suite,
and has a test of its own):

- Codecs passed percentages above 100 as good values: NAS UL20xx dimming levels (status, usage, command replies,
  configuration), its power factors; the Parametric PCR2's radar sensitivity and solar battery level; the Milesight
  WS558's power factor. Each is now a BAD point saying what the device sent, the rest of the frame kept (the
  codec policy: never clamped, never passed on).
"""


def render(figures: dict[str, Any], codecs: int) -> str:
    rows = figures["targets"]
    runs = figures["runs"]
    lines = [TITLE, INTRO.format(codecs=codecs, timeout=max(run["timeout_s"] for run in runs))]
    lines.append(f"The runs behind the figures, on {runs[-1]['cores']} cores shared with other work, the harness at "
                 "the lowest priority (the seconds say more about the machine's load than about the agent):\n")
    for run in runs:
        load = run["load_average"]
        lines.append(f"- {run['at']}: `{run['command']}` ({', '.join(run['targets'])}): {run['seconds']} s, load "
                     f"average {load[0]} at the start, {load[1]} at the end")
    lines.append("")
    lines.append("| target | inputs | coverage (edges) | features | crashes | hangs | RSS start (MiB) | "
                 "RSS end (MiB) | RSS slope (KiB per 100k inputs) | slope, second half | seconds |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        lines.append(f"| {row['target']} | {row['inputs']} | {row['coverage']} | {row['features']} | "
                     f"{len(row['crashes'])} | {len(row['hangs'])} | {row['rss_start_kib'] / 1024:.1f} | "
                     f"{row['rss_end_kib'] / 1024:.1f} | {row['rss_slope_kib_per_100k']:+.0f} | "
                     f"{row.get('rss_slope_second_half_kib_per_100k', 0):+.0f} | {row['seconds']:.0f} |")
    lines.append(f"| **all** | **{sum(row['inputs'] for row in rows)}** | | | "
                 f"**{sum(len(row['crashes']) for row in rows)}** | **{sum(len(row['hangs']) for row in rows)}** | "
                 f"| | | | **{sum(run['seconds'] for run in runs)}** |")
    lines.append(FOUND)
    return "\n".join(lines)


def replace_section(document: str, section: str) -> str:
    """The document with its fuzzing section replaced by ``section`` (or added before the details per scenario)."""
    start = document.find(TITLE)
    if start < 0:
        anchor = document.find("\n## Details per scenario")
        start = end = anchor + 1 if anchor >= 0 else len(document)
    else:
        following = document.find("\n## ", start + len(TITLE))
        end = following + 1 if following >= 0 else len(document)
    return document[:start] + section.rstrip("\n") + "\n\n" + document[end:]
