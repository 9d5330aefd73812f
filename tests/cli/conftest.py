"""Fixtures for the CLI tests: a real Admin API on a free local port, over a
SQLite store in tmp_path."""

from __future__ import annotations

import pathlib
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from lockgate.admin.app import build_admin_app
from lockgate.store.sqlite import SQLiteStore

# -- the Admin API ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store(tmp_path: pathlib.Path) -> SQLiteStore:
    return SQLiteStore(str(tmp_path / "lockgate.db"))


@pytest.fixture
async def admin_url(store: SQLiteStore) -> AsyncIterator[str]:
    runner = web.AppRunner(build_admin_app(store), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
