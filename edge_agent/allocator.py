"""The C allocator of the daemon, bounded for a small gateway.

glibc gives each thread that allocates its own arena (the store's thread, the MQTT clients' network threads, the worker
threads of ``asyncio.to_thread``), up to eight per core, and an arena keeps the memory it once held. Two arenas are
enough for the daemon's few threads: set before any thread starts, with ``mallopt`` (what ``MALLOC_ARENA_MAX=2``
in the environment does). Elsewhere than glibc it does nothing.

A heap also keeps the pages it freed, in the middle as at the top: starting leaves several MB of them (the
compiled config decoded, the modules' code compiled, the services built). ``release_free_pages`` hands them back to
the system (glibc's ``malloc_trim``); the agent calls it once it has started and after each hourly prune.
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


def release_free_pages() -> bool:
    """Give the free pages of the C heap back to the system; whether the C library can (glibc)."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = (ctypes.c_size_t,)
    malloc_trim.restype = ctypes.c_int
    malloc_trim(0)
    return True
