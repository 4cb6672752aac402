"""A pushed site config on trial: written atomically, kept only if the agent is healthy with it.

Files beside the config ``site.toml``: ``site.toml.previous`` (the config before the push) and
``site.toml.trial`` (the marker, JSON). The marker's ``state`` walks:

- ``pending``: the new file is in place; the process is about to restart on it. A start that finds ``pending``
  but not the pushed file (a power cut undid its rename) forgets the trial: the request runs again when repeated.
- ``trying``: a process started on it. A start that finds ``trying`` knows the previous attempt died (crash,
  kill, power cut): it restores the previous file at once. The running agent confirms (marker removed, answer
  "ok") once healthy, or restores the previous file and restarts when not healthy within ``deadline_s``. A push
  that moved the upstream link (``confirm``) is healthy only once the hypervisor confirmed it over that link.
- ``rolled_back``: the previous file is back; the next agent answers the request with ``rolled_back``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from edge_agent.durable import remove, write_atomically
from edge_agent.frozen import frozen
from edge_agent.logs import get_logger

log = get_logger(__name__)


@frozen
class Marker:
    request_id: str
    state: str
    sha256: str
    previous_sha256: str
    deadline_s: float
    reason: str = ""
    confirm: bool = False  # the push changed the upstream link: the hypervisor must confirm over the new one


class ConfigTrial:
    """The trial files of one config path."""

    def __init__(self, config_path: Path) -> None:
        self.path = config_path
        self.previous = config_path.with_name(config_path.name + ".previous")
        self.marker_path = config_path.with_name(config_path.name + ".trial")

    def marker(self) -> Marker | None:
        try:
            return Marker(**json.loads(self.marker_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _set(self, marker: Marker) -> None:
        write_atomically(self.marker_path, json.dumps(asdict(marker)).encode())

    def begin(self, request_id: str, new: bytes, sha256: str, previous_sha256: str, deadline_s: float, *,
              confirm: bool = False) -> None:
        """Keep the current file, mark the trial, put the new file in place (each step atomic)."""
        write_atomically(self.previous, self.path.read_bytes())
        self._set(Marker(request_id, "pending", sha256, previous_sha256, deadline_s, confirm=confirm))
        try:
            write_atomically(self.path, new)
        except OSError:
            remove(self.marker_path)  # the old file is still in force: no trial
            raise
        log.warning("config_trial_begin", request=request_id, sha256=sha256)

    def on_boot(self) -> Marker | None:
        """At process start, before the config is read. A trial found ``trying`` died: roll it back."""
        marker = self.marker()
        if marker is None:
            return None
        if marker.state == "pending":
            if _sha256(self.path) != marker.sha256:  # a power cut undid the new file before the restart
                log.error("config_trial_abandoned", request=marker.request_id,
                          reason="the pushed config is not the file in place; a repeat of the request runs it again")
                remove(self.marker_path)
                return None
            marker = Marker(**{**asdict(marker), "state": "trying"})
            self._set(marker)
        elif marker.state == "trying":
            return self.roll_back("the agent stopped while trying the pushed config")
        return marker

    def roll_back(self, reason: str) -> Marker | None:
        marker = self.marker()
        if marker is None or marker.state == "rolled_back":
            return marker
        write_atomically(self.path, self.previous.read_bytes())
        rolled = Marker(**{**asdict(marker), "state": "rolled_back", "reason": reason})
        self._set(rolled)
        log.error("config_trial_rolled_back", request=marker.request_id, reason=reason)
        return rolled

    def finish(self) -> None:
        """The answer is about to be given: forget the trial, durably (a marker back after a power cut would roll
        back a config the hypervisor was told is in force). ``.previous`` stays as a backup."""
        remove(self.marker_path)

    @property
    def trying(self) -> bool:
        marker = self.marker()
        return marker is not None and marker.state == "trying"


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
