"""The narrow views of the running gateway that the supervisor hands to the hypervisor contract (inventory,
commands) and to the technician's control socket. Each names only what its users call; the supervisor
(edge_agent/agent.py) builds them and passes them to their constructors, so nothing below it imports it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from edge_agent.frozen import frozen
from edge_agent.store.outbox import OutboxStats
from edge_agent.store.rows import StoredRecord
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.topics import Topics
from edge_agent.sync.uplink import MessageHandler, UplinkCounters

if TYPE_CHECKING:
    from edge_agent.lorawan.lorawan_service import LorawanService
    from edge_agent.modbus.modbus_service import ModbusService

# Stop, then re-execute the process (a pushed config to try, or one to roll back); the argument says why.
Restarter = Callable[[str], None]


class Outbox:
    """The outbox as read by the contract and the control socket, through the store's own thread."""

    def __init__(self, worker: StoreWorker, write_acks: Callable[[], Awaitable[None]]) -> None:
        self._worker = worker
        self._write_acks = write_acks

    async def stats(self) -> OutboxStats:
        """The counts as of now: the acknowledgements the group commit still holds are written first."""
        await self._write_acks()
        return await self._worker.call(self._worker.store.stats)

    async def history(self, first: int, last: int, limit: int) -> list[StoredRecord]:
        return await self._worker.call(self._worker.store.history, first, last, limit)


class Publisher(Protocol):
    """The upstream link as the inventory, the commands and the control socket use it."""

    topics: Topics
    counters: UplinkCounters

    @property
    def connected(self) -> bool: ...

    def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...

    def notify_committed(self, last_seq: int) -> None: ...

    def health(self) -> dict[str, object]: ...


class CommandLink(Publisher, Protocol):
    """The upstream link as the command service uses it: it also hands over the requests that arrive."""

    message_handler: MessageHandler | None

    def take_early_messages(self) -> list[tuple[str, bytes]]: ...


class LightingGroups(Protocol):
    """The lighting groups' state and the holds put on them (the rules engine)."""

    async def set_override(self, group: str, level: int | None, duration_s: float | None = None,
                           source: str = "manual") -> None: ...

    async def clear_override(self, group: str, source: str = "manual") -> None: ...

    def group_status(self, name: str) -> dict[str, Any]: ...

    def groups_status(self) -> list[dict[str, Any]]: ...

    def active_alarms(self) -> list[tuple[str, str, str | None]]: ...


@frozen
class Drivers:
    """The drivers the site runs (None: the site has no such device) and its rules (None: no lighting, no alarm)."""

    modbus: ModbusService | None = None
    lorawan: LorawanService | None = None
    rules: LightingGroups | None = None
