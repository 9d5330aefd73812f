"""pytest fixtures for a real PostgreSQL server (import them into a conftest).

Without server binaries, the tests that need one are skipped when not root;
as root (CI), ``make test`` installs them, so their absence is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, find_pg_bin, postgres_server

__all__ = ["fresh_pg", "pg", "pg_url"]


def _skip_without_binaries() -> None:
    if find_pg_bin() is None and os.geteuid() != 0:
        pytest.skip(
            "PostgreSQL server binaries are not installed (make test installs them as root)"
        )


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (per xdist worker)."""
    _skip_without_binaries()
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg: PostgresServer) -> str:
    """A fresh empty database on the session's server."""
    return pg.new_database()


@pytest.fixture
def fresh_pg() -> Iterator[PostgresServer]:
    """A server of this test's own, which it may stop and start."""
    _skip_without_binaries()
    with postgres_server() as server:
        yield server
