"""The C allocator of the daemon, bounded for a small gateway.

glibc gives each thread that allocates its own arena (the store's thread, the MQTT clients' network threads, the worker
threads of ``asyncio.to_thread``), up to eight per core, and an arena keeps the memory it once held. Two arenas are
enough for the daemon's few threads: set before any thread starts, with ``mallopt`` (what ``MALLOC_ARENA_MAX=2``
in the environment does). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Whether the C library took the bound (True with glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
