from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.support import Pki, make_pki, tls_broker
from tests.support.broker import Broker


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """One test CA with broker, gateway, hypervisor and intruder certificates, made by the tests."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def secure_broker(tmp_path: Path, pki: Pki) -> Iterator[Broker]:
    """A real Mosquitto with TLS only, client certificates required, the CN as username, and the ACL."""
    broker = tls_broker(tmp_path, pki)
    yield broker
    broker.stop()
