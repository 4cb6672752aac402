"""The daemon of a site that uses no TLS runs without OpenSSL: no ``ssl``, and ``hashlib`` without ``_hashlib``.

OpenSSL costs the daemon about 4 MB resident for its whole life: libcrypto's pages, touched as it initialises
(3.4 MB), then ``ssl`` with ``_ssl`` (libssl, ssl.py's enums converted). Two modules bring it in:

- ``hashlib`` imports ``_hashlib`` when it can. The daemon hashes with SHA-256 alone (the config's checksum, the
  compiled form's key, a pushed config's), which Python also has built in: ``edge-agent run`` withholds
  ``_hashlib`` before anything imports hashlib (``withhold_hashlib_openssl``), and hashlib takes its built-in
  SHA-256, the same digests (slower: some milliseconds at start for the bundled drivers, which are hashed into the
  compiled form's key).
- asyncio imports ``ssl`` when it can (``try: import ssl``). A site whose config asks for no TLS never opens a TLS
  connection, so the daemon decides once, from the config it is about to run (after the trial boot) and before
  asyncio is first imported (edge_agent/cli/daemon.py), and withholds the module (``withhold_unless_used``).

``sys.modules[name] = None`` makes every ``import name`` raise ImportError, and hashlib, asyncio and any library
that can do without the module take their branch for a Python built without OpenSSL. The config cannot change under
a running daemon: a pushed config is tried in a fresh process (a re-execution), which decides again.

What needs ``ssl`` in a site config: ``[upstream.tls]`` alone. Modbus RTU buses go through the project's own client
(edge_agent/modbus/rtu.py, pyserial only), not pymodbus, which imports ``ssl`` whatever its transport and is left to
the simulator (tests, demo). ChirpStack's MQTT has no TLS option, gRPC downlinks
use grpc's own (insecure) channel, and the installer's page (``web.tls_cert``) is served by ``edge-agent web``, a
process of its own. A TLS option, or a library that imports ``ssl``, added to the daemon must be added to
``needs_ssl``. Code of the daemon's path that names ``ssl`` imports it where TLS is set up, or looks it up in
``sys.modules`` (an SSLError can only come from a loaded ``ssl``).
"""

from __future__ import annotations

import sys
from typing import Any

# Whether withholding is sound with this tree's MQTT client: it must not import ssl before TLS is set up, and its
# network code must run with ``ssl`` absent (edge_agent/mqtt_client.py imports it only to set up TLS; paho-mqtt, the
# client before it, did not: its socket error handlers named ssl's classes). False turns both withholdings off.
ENABLED = True


def withhold_hashlib_openssl() -> bool:
    """Withhold ``_hashlib`` from this process (hashlib then hashes with Python's built-in code); whether it is
    withheld. Call it first thing in the daemon: once hashlib is imported, its choice is made."""
    if not ENABLED or "hashlib" in sys.modules or "_hashlib" in sys.modules or not _builtin_sha256():
        return sys.modules.get("_hashlib", False) is None
    sys.modules["_hashlib"] = None  # type: ignore[assignment]
    return True


def _builtin_sha256() -> bool:
    """Whether this Python has its own SHA-256 (CPython and Debian's python3 do; a build without it keeps OpenSSL's,
    or hashlib would have no sha256 at all)."""
    import importlib.util

    return importlib.util.find_spec("_sha256") is not None


def needs_ssl(config: Any) -> bool:
    """Whether the daemon of this site config uses ``ssl``: TLS to the broker."""
    return config.upstream.tls is not None


def withhold_unless_used(config: Any) -> bool:
    """Withhold ``ssl`` from this process if the site does not use it; whether it is withheld. Call it before
    asyncio (or anything else that imports ssl) is first imported: once loaded, the module stays."""
    if not ENABLED or needs_ssl(config) or "ssl" in sys.modules:
        return sys.modules.get("ssl", False) is None
    sys.modules["ssl"] = None  # type: ignore[assignment]
    return True
