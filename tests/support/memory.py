"""Memory measured in the test's own process, with tracemalloc."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def traced() -> Iterator[None]:
    """``tracemalloc`` on for the block. A run under ``PYTHONTRACEMALLOC`` traces already: it keeps tracing after."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        yield
    finally:
        if not tracing:
            tracemalloc.stop()
