"""The daemon of a site that uses no TLS runs without Python's ``ssl`` module.

asyncio imports ``ssl`` when it can (``try: import ssl``), and ``ssl`` with ``_ssl`` stays resident for the daemon's
whole life: OpenSSL's TLS library initialised, ssl.py's enums converted. A site whose config asks for no TLS never
opens a TLS connection, so ``edge-agent run`` decides once, from the config it is about to run and before asyncio is
first imported (edge_agent/cli/daemon.py), and withholds the module: ``sys.modules["ssl"] = None`` makes every
``import ssl`` raise ImportError, and asyncio, like any library that can do without it, takes its no-TLS branch.
The config cannot change under a running daemon: a pushed config is tried in a fresh process (a re-execution).

What needs ``ssl`` in a site config: ``[upstream.tls]``, and a Modbus device on an RTU bus, whose serial link is
pymodbus's (pymodbus imports ``ssl`` whatever its transport). ChirpStack's MQTT has no TLS option, gRPC downlinks
use grpc's own (insecure) channel, and the installer's page (``web.tls_cert``) is served by ``edge-agent web``, a
process of its own. A TLS option, or a library that imports ``ssl``, added to the daemon must be added to
``needs_ssl``.

``hashlib`` does not need ``ssl`` (it has ``_hashlib``). Any code of the daemon's path that names ``ssl`` imports
it where TLS is set up, or looks it up in ``sys.modules`` (an SSLError can only come from a loaded ``ssl``).
"""

from __future__ import annotations

import sys
from typing import Any

# Whether withholding is sound with this tree's MQTT client: it must not import ssl before TLS is set up, and its
# network code must run with ``ssl`` absent (paho-mqtt's does not: its socket error handlers name ssl's classes).
ENABLED = False


def needs_ssl(config: Any) -> bool:
    """Whether the daemon of this site config uses ``ssl``: TLS to the broker, or pymodbus for an RTU bus."""
    from edge_agent.modbus.config import ModbusDeviceConfig

    return config.upstream.tls is not None or any(
        isinstance(device, ModbusDeviceConfig) and device.bus is not None for device in config.devices)


def withhold_unless_used(config: Any) -> bool:
    """Withhold ``ssl`` from this process if the site does not use it; whether it is withheld. Call it before
    asyncio (or anything else that imports ssl) is first imported: once loaded, the module stays."""
    if not ENABLED or needs_ssl(config) or "ssl" in sys.modules:
        return sys.modules.get("ssl", False) is None
    sys.modules["ssl"] = None  # type: ignore[assignment]
    return True
