"""The upstream topics of one gateway, all under ``<prefix>/<gateway_id>/`` so one ACL line confines it."""

from __future__ import annotations

from dataclasses import field

from edge_agent.config.upstream import TopicsConfig
from edge_agent.frozen import frozen
from edge_agent.sync.lanes import Lane


@frozen
class Topics:
    prefix: str
    gateway: str
    names: TopicsConfig = field(default_factory=TopicsConfig)

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.gateway}"

    def _under(self, suffix: str) -> str:
        return f"{self.root}/{suffix}"

    @property
    def readings(self) -> str:
        return self._under(self.names.readings)

    @property
    def events(self) -> str:
        return self._under(self.names.events)

    @property
    def status(self) -> str:
        return self._under(self.names.status)

    @property
    def inventory(self) -> str:
        return self._under(self.names.inventory)

    @property
    def commands(self) -> str:
        return self._under(self.names.commands)

    @property
    def responses(self) -> str:
        return self._under(self.names.responses)

    @property
    def replay(self) -> str:
        return self._under(self.names.replay)

    @property
    def reports(self) -> str:
        return self._under(self.names.reports)

    def for_lane(self, lane: Lane) -> str:
        if lane is Lane.REPORTS:
            return self.reports
        return self.events if lane is Lane.EVENTS else self.readings
