"""What the supervisor runs: services built from the site config, started in order, stopped in reverse."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from edge_agent.clock import Clock
from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.reading import Record


class RecordSink(Protocol):
    """Where drivers and rules hand their records. ``submit`` returns once they are committed locally; records are
    committed in the order ``submit`` was called, so a driver may have several submissions waiting at once.
    (An ``async def submit`` fits; the group commit returns its commit's future when it can, see ``Committer``.)"""

    def submit(self, records: Sequence[Record]) -> Awaitable[list[int]]: ...


class Service(Protocol):
    """A part of the agent with a lifecycle. Constructors do no I/O; ``start`` does."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, object]: ...


@frozen
class ServiceContext:
    """What a service factory gets to build its service."""

    config: SiteConfig
    sink: RecordSink
    clock: Clock


class ServiceFactory(Protocol):
    def __call__(self, context: ServiceContext) -> Service | None: ...
