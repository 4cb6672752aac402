"""Where the page's facts come from: the running agent's control socket, or the store when the agent is stopped.

The shapes are the control protocol's replies whichever way they came (the CLI's offline readers build the same
shapes from the store). Blocking calls: the page runs them in its thread pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from edge_agent.cli.lighting_cmd import stopped_groups
from edge_agent.cli.status_cmd import stopped_status
from edge_agent.config.load import LoadedConfig
from edge_agent.control.client import AgentNotRunning, ControlClient, running_agent
from edge_agent.control.history import EventsQuery, HistoryQuery, events_reply, history_reply
from edge_agent.errors import EdgeAgentError
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.store.view import StoreView

EVENTS_SHOWN = 30
CALL_TIMEOUT_S = 5.0
RADIO_POINTS = ("lorawan.rssi", "lorawan.snr", "lorawan.spreading_factor", "lorawan.gateway", "lorawan.f_cnt")


@dataclass
class Snapshot:
    """Everything the main page shows, as of one moment."""

    running: bool
    status: dict[str, Any] | None = None
    groups: list[dict[str, Any]] = field(default_factory=list)
    radio: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unreachable: str | None = None  # why a running agent could not be asked (the figures are then the store's)


class AgentStopped(EdgeAgentError):
    """An action asked while the agent is not running."""


class Source:
    """Asks the agent when it runs, reads the store when it does not."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self._lorawan = [d.name for d in self.config.devices if isinstance(d, LorawanDeviceConfig)]

    def agent(self) -> ControlClient | None:
        return running_agent(self.config.control.socket, CALL_TIMEOUT_S)

    def snapshot(self, *, radio_last: int = 1) -> Snapshot:
        try:
            client = self.agent()
            if client is not None:
                return self._live(client, radio_last)
        except AgentNotRunning:
            pass  # it stopped between the two calls
        except EdgeAgentError as exc:  # no permission on the socket, no answer
            snap = self._stopped([])
            snap.unreachable = str(exc)
            return snap
        return self._stopped([])

    def _live(self, client: ControlClient, radio_last: int) -> Snapshot:
        snap = Snapshot(running=True, status=client.call("status"))
        if self.config.lighting.groups:
            snap.groups = client.call("lighting")["groups"]
        if self._lorawan:
            snap.radio = client.call("radio", last=radio_last)["devices"]
        snap.events = client.call("events", limit=EVENTS_SHOWN)["events"]
        return snap

    def _stopped(self, problems: list[str]) -> Snapshot:
        snap = Snapshot(running=False, problems=problems)
        try:
            snap.status = stopped_status(self.config)
            snap.groups = stopped_groups(self.loaded, time.time()) if self.config.lighting.groups else []
            with StoreView.open(self.config.store.path) as view:
                snap.events = events_reply(view, EventsQuery.parse({"limit": EVENTS_SHOWN}, time.time()))["events"]
        except EdgeAgentError as exc:
            snap.problems.append(str(exc))
            return snap
        snap.radio = {row["name"]: stored_radio(row["values"]) for row in snap.status["devices"]
                      if row["name"] in self._lorawan}
        return snap

    def radio(self, device: str, last: int = 10) -> list[dict[str, Any]]:
        """A LoRaWAN device's last uplinks (live), or its last one as stored (best gateway only)."""
        client = self.agent()
        if client is not None:
            return list(client.call("radio", device=device, last=last)["devices"].get(device, []))
        status = stopped_status(self.config)
        row = next((d for d in status["devices"] if d["name"] == device), None)
        return stored_radio(row["values"]) if row is not None else []

    def history(self, device: str, point: str) -> dict[str, Any]:
        """The last 24 hours of a point, in 5-minute buckets."""
        client = self.agent()
        if client is not None:
            return client.call("history", device=device, point=point)
        with StoreView.open(self.config.store.path) as view:
            return history_reply(view, HistoryQuery.parse({"device": device, "point": point}, time.time()))

    def act(self, op: str, **args: Any) -> dict[str, Any]:
        """An action through the running agent (hold, resume, read); AgentStopped when it is not running,
        EdgeAgentError in plain words when it refuses."""
        client = self.agent()
        if client is None:
            raise AgentStopped("the agent is not running, so it cannot act; start it with"
                               " 'sudo systemctl start edge-agent'")
        return client.call(op, **args)


def stored_radio(values: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The last uplink's radio as the store has it: the readings of the gateway that heard it best."""
    got = {name: values[name]["value"] for name in RADIO_POINTS if name in values}
    if "lorawan.rssi" not in got and "lorawan.snr" not in got:
        return []
    return [{"ts": values.get("lorawan.rssi", values.get("lorawan.snr", {})).get("ts"),
             "f_cnt": got.get("lorawan.f_cnt"), "spreading_factor": got.get("lorawan.spreading_factor"),
             "bandwidth": None, "frequency": None,
             "gateways": [{"gateway": got.get("lorawan.gateway"), "rssi": got.get("lorawan.rssi"),
                           "snr": got.get("lorawan.snr")}]}]
