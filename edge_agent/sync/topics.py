"""The upstream topics of one gateway, all under ``<prefix>/<gateway_id>/`` so one ACL line confines it."""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.sync.lanes import Lane


@dataclass(frozen=True)
class Topics:
    prefix: str
    gateway: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.gateway}"

    @property
    def readings(self) -> str:
        return f"{self.root}/readings"

    @property
    def events(self) -> str:
        return f"{self.root}/events"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def commands(self) -> str:
        return f"{self.root}/commands"

    @property
    def responses(self) -> str:
        return f"{self.root}/responses"

    def for_lane(self, lane: Lane) -> str:
        return self.events if lane is Lane.EVENTS else self.readings
