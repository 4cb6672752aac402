from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz import chirpstack
from tests.fuzz import gateway as gateway_module


@pytest.fixture(scope="module", autouse=True)
def _close_benches() -> Iterator[None]:
    """The targets build their gateway and store once, closed when the module ends.

    Not once per session: the suite's workers run other modules' tests in the same process, and a gateway left
    running there would write its logs into their output and take their CPU.
    """
    yield
    gateway_module.close_shared()
    chirpstack.close()


@pytest.fixture(scope="module")
def gateway() -> gateway_module.FuzzGateway:
    """The running agent of the command and control targets, started before the first input is drawn."""
    return gateway_module.shared()
