from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz import chirpstack
from tests.fuzz import gateway as gateway_module


@pytest.fixture(scope="session", autouse=True)
def _close_benches() -> Iterator[None]:
    """The targets build their gateway and store once per process; closed when the session ends."""
    yield
    gateway_module.close_shared()
    chirpstack.close()


@pytest.fixture(scope="session")
def gateway() -> gateway_module.FuzzGateway:
    """The running agent of the command and control targets, started before the first input is drawn."""
    return gateway_module.shared()
