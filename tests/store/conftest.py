from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, find_pg_bin, postgres_server


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (per xdist worker)."""
    if find_pg_bin() is None and os.geteuid() != 0:
        pytest.skip(
            "PostgreSQL server binaries are not installed (make test installs them as root)"
        )
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg: PostgresServer) -> str:
    """A fresh empty database on the session's server."""
    return pg.new_database()
