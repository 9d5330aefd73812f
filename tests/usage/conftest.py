"""The ledger's storages: SQLite in tmp_path, and a fresh database on one
real PostgreSQL server per session (skipped, with the reason, where the
server binaries are missing and cannot be installed)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lockgate.usage.postgres import PostgresUsage
from lockgate.usage.sqlite import SQLiteUsage
from lockgate.usage.storage import UsageStorage
from tests.support.postgres import PostgresServer, find_pg_bin, postgres_server


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    if find_pg_bin() is None and os.geteuid() != 0:
        pytest.skip(
            "PostgreSQL server binaries are not installed (make test installs them as root)"
        )
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UsageStorage]:
    made: UsageStorage
    if request.param == "sqlite":
        made = SQLiteUsage(str(tmp_path / "lockgate.db"))
    else:
        server: PostgresServer = request.getfixturevalue("pg")
        made = PostgresUsage(server.new_database())
    try:
        yield made
    finally:
        await made.close()
