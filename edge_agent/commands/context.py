"""What the command service and its dispatcher are given by the supervisor: the running gateway's parts they use."""

from __future__ import annotations

from collections.abc import Callable

from edge_agent.clock import Clock
from edge_agent.config.load import LoadedConfig
from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.gateway_status import GatewayStatus
from edge_agent.ports import CommandLink, Drivers, Outbox, Restarter


@frozen
class CommandContext:
    loaded: LoadedConfig  # the config in force, its file and its digest
    clock: Clock
    link: CommandLink  # requests in, answers and replays out
    outbox: Outbox  # replays read the records it still holds
    drivers: Drivers  # read_device asks Modbus; override and clear_override the lighting groups
    status: Callable[[], GatewayStatus]  # the gateway's status fields (ping)
    restart: Restarter  # a pushed config is tried, or rolled back, by restarting

    @property
    def config(self) -> SiteConfig:
        return self.loaded.config
