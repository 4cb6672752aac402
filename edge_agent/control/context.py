"""What the control operations are given: the running gateway's parts they use, and the socket's own state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge_agent.clock import Clock
from edge_agent.config.site import SiteConfig
from edge_agent.control.book import DeviceBook
from edge_agent.control.tail import TailHub
from edge_agent.frozen import frozen
from edge_agent.gateway_status import GatewayStatus
from edge_agent.ports import Drivers, Outbox, Publisher

Reply = dict[str, Any]


@frozen
class ControlContext:
    """What the control operations see of the running gateway."""

    config: SiteConfig
    clock: Clock
    outbox: Outbox
    link: Publisher
    drivers: Drivers
    status: Callable[[], GatewayStatus]  # the gateway's status fields
    started_at: float  # the agent's start (Unix time)
    book: DeviceBook  # the last values heard, per device
    hub: TailHub  # the committed records, to the clients that follow them
