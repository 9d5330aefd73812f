"""The embedded store: one SQLite file, one row per configuration version.

Writes replace the whole document in one transaction, so a reader sees
either the old or the new configuration, never a mix. WAL mode lets worker
processes read while the Admin API writes. Queries are sub-millisecond, so
they run on the event loop's thread; change notification
(:meth:`SQLiteStore.watch`) polls the version, which is that cheap.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

from lockgate.config.state import GatewayState
from lockgate.store.base import StaleVersion

__all__ = ["SQLiteStore"]

_KEEP = 20
#: How often :meth:`SQLiteStore.watch` looks at the version.
POLL_INTERVAL = 0.2


class SQLiteStore:
    database = "sqlite"

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS config_versions ("
            "version INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, state BLOB NOT NULL)"
        )

    async def version(self) -> int:
        row = self._db.execute("SELECT MAX(version) FROM config_versions").fetchone()
        return int(row[0] or 0)

    async def load(self) -> tuple[int, GatewayState]:
        row = self._db.execute(
            "SELECT version, state FROM config_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return 0, GatewayState()
        return int(row[0]), GatewayState.from_json(row[1])

    async def save(self, state: GatewayState, expected_version: int | None = None) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # the write lock: the check and the insert are one step
        try:
            if expected_version is not None:
                row = db.execute("SELECT MAX(version) FROM config_versions").fetchone()
                current = int(row[0] or 0)
                if current != expected_version:
                    raise StaleVersion(expected_version, current)
            cur = db.execute(
                "INSERT INTO config_versions (created_at, state) VALUES (?, ?)",
                (time.time(), state.to_json()),
            )
            version = int(cur.lastrowid or 0)
            db.execute("DELETE FROM config_versions WHERE version <= ?", (version - _KEEP,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return version

    async def watch(self, known: int, timeout: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            newest = await self.version()
            remaining = deadline - loop.time()
            if newest != known or remaining <= 0:
                return newest
            await asyncio.sleep(min(remaining, POLL_INTERVAL))

    async def close(self) -> None:
        self._db.close()
