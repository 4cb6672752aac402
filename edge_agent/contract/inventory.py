"""The device inventory and state (retained): what the gateway has and whether each device answers.

``inventory_fields`` is pure; ``InventoryPublisher`` publishes it retained on connect and whenever it changes
(timestamps of last contact are left out of the comparison, so that a poll is not a change).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from edge_agent.cancellation import cancel_and_wait
from edge_agent.clock import Clock
from edge_agent.config.site import SiteConfig
from edge_agent.contract.identity import SiteIdentities, site_identities
from edge_agent.device_state import DeviceState, device_states
from edge_agent.errors import LinkDown
from edge_agent.logs import get_logger
from edge_agent.ports import Drivers, Publisher
from edge_agent.sync.payloads import inventory_payload, iso_utc

log = get_logger(__name__)

_EVERY = 1.0  # seconds between checks for a new connection or a changed state


def online(states: Mapping[str, DeviceState], device: str) -> bool | None:
    """Whether ``device`` answers; None while it has no state yet."""
    state = states.get(device)
    return state.online if state else None


def inventory_fields(config: SiteConfig, states: Mapping[str, DeviceState],
                     identities: SiteIdentities | None = None) -> dict[str, Any]:
    """``states``: device name -> its state (a device without one is not known yet: ``online`` null)."""
    identities = identities or site_identities(config)
    devices = []
    for device in config.devices:
        ident = identities.devices[device.name]
        devices.append({
            "name": device.name, "driver": device.driver, "model": ident.model, "fiware_type": ident.entity_type,
            "fiware_id": ident.entity_id, "online": online(states, device.name),
        })
    return {"gateway": config.gateway_id,
            "location": {"type": "Point", "coordinates": [config.site.longitude, config.site.latitude]},
            "devices": devices}


class InventoryPublisher:
    """Implements the Service protocol."""

    name = "inventory"

    def __init__(self, config: SiteConfig, clock: Clock, link: Publisher, drivers: Drivers) -> None:
        self._config = config
        self._clock = clock
        self._link = link
        self._drivers = drivers
        self._task: asyncio.Task[None] | None = None
        self._sent: tuple[bool | None, ...] | None = None  # the devices' online states in the last one sent
        self._connection: float | None = None
        self._identities: SiteIdentities | None = None
        self.published = 0

    async def start(self) -> None:
        # Which entity each device is reads driver files for models the mapping lacks: off the event loop, once.
        self._identities = await asyncio.to_thread(site_identities, self._config)
        self._task = asyncio.create_task(self._loop(), name="inventory")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])

    def health(self) -> dict[str, object]:
        return {"published": self.published}

    def current(self) -> dict[str, Any]:
        return self._fields(self._states())

    def _states(self) -> dict[str, DeviceState]:
        drivers = self._drivers
        modbus = drivers.modbus.devices_status(details=False) if drivers.modbus is not None else []
        lorawan = drivers.lorawan.devices_status() if drivers.lorawan is not None else []
        return device_states(self._config.devices, modbus, lorawan)

    def _fields(self, states: Mapping[str, DeviceState]) -> dict[str, Any]:
        if self._identities is None:  # read once: the shipped driver files do not change while the agent runs
            self._identities = site_identities(self._config)
        return inventory_fields(self._config, states, self._identities)

    async def _loop(self) -> None:
        while True:
            try:
                self._maybe_publish()
            except Exception:
                log.exception("inventory_failed")
            await asyncio.sleep(_EVERY)

    def _maybe_publish(self) -> None:
        link = self._link
        since = link.counters.connected_since
        if not link.connected or since is None:
            return
        states = self._states()
        # The inventory changes with the devices' online states alone (the config and the identities are fixed for
        # the agent's life): they are what is kept of the last one sent, not the inventory itself.
        answering = tuple(online(states, device.name) for device in self._config.devices)
        if since == self._connection and answering == self._sent:
            return
        fields = self._fields(states)
        payload = inventory_payload({**fields, "ts": iso_utc(self._clock.now())})
        with contextlib.suppress(LinkDown):
            link.publish_raw(link.topics.inventory, payload, retain=True)
            self._sent, self._connection = answering, since
            self.published += 1
            log.info("inventory_published", devices=len(fields["devices"]))
