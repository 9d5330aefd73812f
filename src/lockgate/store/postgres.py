"""The shared store: PostgreSQL, for several nodes on one configuration.

Same shape as the SQLite store (one row per whole configuration version),
plus what several nodes need:

- a save is one transaction under an advisory lock: the compare-and-swap
  check, the insert, the trim of old rows and a ``NOTIFY lockgate_config``
  with the new version, delivered to every listener when it commits;
- :meth:`PostgresStore.watch` returns as soon as a notification arrives and
  also polls the version, so a change is seen even while the ``LISTEN`` is
  being re-established;
- every error that means "the database is not there now" becomes
  :class:`~lockgate.store.base.StoreUnavailable`, with the password removed;
  the connection is dropped and made again on the next call, so a node
  reconnects by itself after an outage.

One connection per store object serves both the queries (one at a time,
under a lock) and the ``LISTEN``: a node holds one connection per worker
plus one for the Admin API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from lockgate.config.state import GatewayState
from lockgate.store.base import StaleVersion, StoreError, StoreUnavailable
from lockgate.store.migrations import SchemaStatus, apply_pending, schema_status
from lockgate.store.url import parse_store_url, redact_text

__all__ = ["CHANNEL", "PostgresStore", "SchemaNotReady"]

log = logging.getLogger("lockgate.store")

#: The NOTIFY channel; its payload is the new version number.
CHANNEL = "lockgate_config"
#: pg_advisory_xact_lock key that serialises saves across nodes ("lockgate", then 2).
SAVE_LOCK = 0x6C6F636B67617402
#: How often :meth:`PostgresStore.watch` checks the version besides notifications.
POLL_INTERVAL = 0.5
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0
_KEEP = 20

# SQLSTATE classes that mean "the server is not usable now", not "the query is wrong":
# 08 connection exception, 57 operator intervention (shutdown, starting up),
# 53 insufficient resources (too many connections), 28 authorization.
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


class SchemaNotReady(StoreError):
    """The database lacks lockgate's tables (``lockgate migrations up``)."""


class PostgresStore:
    database = "postgres"

    def __init__(self, url: str) -> None:
        self.location = parse_store_url(url)
        self._password = self.location.password
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._listening = False

    @property
    def shown(self) -> str:
        """The URL without its password, for messages."""
        return self.location.shown

    # -- connection ---------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = redact_text(str(exc) or type(exc).__name__, self._password)
        return StoreUnavailable(f"the store {self.shown} cannot be reached: {reason}")

    async def _connect(self) -> asyncpg.Connection:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            return conn
        self._conn = None
        self._listening = False
        conn = await asyncpg.connect(
            self.location.url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT
        )
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn
        return conn

    def _on_terminated(self, conn: Any) -> None:
        # Wake a watcher so it notices the loss at once rather than at its next poll.
        self._changed.set()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        self._changed.set()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection, for one query or transaction at a time; driver
        errors that mean an outage leave as :class:`StoreUnavailable`."""
        async with self._lock:
            try:
                yield await self._connect()
            except asyncpg.UndefinedTableError as exc:
                raise SchemaNotReady(
                    f"the store {self.shown} has no lockgate schema: "
                    "run `lockgate migrations up --store URL` (or start a node on it)"
                ) from exc
            except _UNAVAILABLE as exc:
                await self._drop()
                raise self._unavailable(exc) from (
                    None if self._password and self._password in str(exc) else exc
                )

    async def _drop(self) -> None:
        conn, self._conn, self._listening = self._conn, None, False
        if conn is not None and not conn.is_closed():
            conn.terminate()

    # -- ConfigStore --------------------------------------------------------

    async def version(self) -> int:
        async with self._session() as conn:
            value = await conn.fetchval("SELECT max(version) FROM lockgate_config_versions")
        return int(value or 0)

    async def load(self) -> tuple[int, GatewayState]:
        async with self._session() as conn:
            row = await conn.fetchrow(
                "SELECT version, state FROM lockgate_config_versions ORDER BY version DESC LIMIT 1"
            )
        if row is None:
            return 0, GatewayState()
        return int(row["version"]), GatewayState.from_json(bytes(row["state"]))

    async def save(self, state: GatewayState, expected_version: int | None = None) -> int:
        payload = state.to_json()
        async with self._session() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", SAVE_LOCK)
            if expected_version is not None:
                current = int(
                    await conn.fetchval("SELECT max(version) FROM lockgate_config_versions") or 0
                )
                if current != expected_version:
                    raise StaleVersion(expected_version, current)
            version = int(
                await conn.fetchval(
                    "INSERT INTO lockgate_config_versions (state) VALUES ($1) RETURNING version",
                    payload,
                )
            )
            await conn.execute(
                "DELETE FROM lockgate_config_versions WHERE version <= $1", version - _KEEP
            )
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(version))
        return version

    async def watch(self, known: int, timeout: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self._listen()
            self._changed.clear()
            newest = await self.version()
            remaining = deadline - loop.time()
            if newest != known or remaining <= 0:
                return newest
            # A notification wakes us at once; the poll covers a LISTEN being re-made.
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, POLL_INTERVAL))
            except TimeoutError:
                pass

    async def _listen(self) -> None:
        async with self._session() as conn:
            if not self._listening:
                await conn.add_listener(CHANNEL, self._on_notify)
                self._listening = True

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and not conn.is_closed():
                try:
                    await asyncio.wait_for(conn.close(), 2)
                except (OSError, TimeoutError, asyncpg.InterfaceError):
                    conn.terminate()

    # -- schema -------------------------------------------------------------

    async def schema_status(self) -> SchemaStatus:
        async with self._session() as conn:
            return await schema_status(conn)

    async def migrate(self) -> list[str]:
        """Apply pending migrations (safe while other nodes do the same); their names."""
        async with self._session() as conn:
            applied = await apply_pending(conn)
        return [f"{m.id:03d}_{m.name}" for m in applied]
