from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from bench.fleet_bench import ADMIN_DSN, temp_database


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards (PostgreSQL must run on 127.0.0.1:5432)."""
    admin = os.environ.get("EDGE_AGENT_TEST_PG", ADMIN_DSN)
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {admin}: {exc}. Start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`")
    with temp_database(admin) as dsn:
        yield dsn
