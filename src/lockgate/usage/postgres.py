"""The ledger in the PostgreSQL store's database, table
``lockgate_usage_requests``, so every node's usage is in one place.

The table has its own migrations (``lockgate_usage_migrations``), applied on
first use under an advisory lock, so nodes starting together create it once
and the configuration store's migration list stays its own. Each process
holds one connection of its own for the ledger, made on first use and again
after a failure; a failed write raises, and the proxy worker's
:class:`~lockgate.usage.writer.LedgerWriter` keeps the batch for its next
try (an outage loses no row while the worker runs). Errors never carry the
URL's password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg

from lockgate.store.base import StoreUnavailable
from lockgate.store.url import parse_store_url, redact_text
from lockgate.usage.rows import COLUMNS, GROUPS, TIMINGS
from lockgate.usage.storage import Totals, nearest_rank

__all__ = ["MIGRATIONS", "PostgresUsage"]

#: pg_advisory_xact_lock key for the ledger's migrations ("lockgate" in bytes, then 3).
MIGRATION_LOCK = 0x6C6F636B67617403
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 30.0
PRUNE_CHUNK = 5000

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "usage_requests",
        """
        CREATE TABLE lockgate_usage_requests (
            id bigserial PRIMARY KEY,
            time double precision NOT NULL,
            request_id text NOT NULL,
            consumer text,
            route text,
            service text,
            provider text,
            request_model text,
            response_model text,
            prompt_tokens bigint NOT NULL DEFAULT 0,
            completion_tokens bigint NOT NULL DEFAULT 0,
            cached_tokens bigint NOT NULL DEFAULT 0,
            reasoning_tokens bigint NOT NULL DEFAULT 0,
            cost double precision NOT NULL DEFAULT 0,
            latency_ms integer,
            llm_latency_ms integer,
            ttft_ms integer,
            status integer,
            mode text,
            session_id text
        );
        CREATE INDEX lockgate_usage_requests_time ON lockgate_usage_requests (time)
        """,
    ),
)

_INSERT = (
    f"INSERT INTO lockgate_usage_requests ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"
)
_BUCKETS = {
    "day": "to_char(to_timestamp(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "hour": "to_char(to_timestamp(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00\"Z\"')",
    "minute": "to_char(to_timestamp(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI\"Z\"')",
}


class PostgresUsage:
    def __init__(self, url: str) -> None:
        self.location = parse_store_url(url)
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._migrated = False

    async def _connection(self) -> asyncpg.Connection:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            return conn
        try:
            conn = await asyncpg.connect(
                self.location.url, timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise self._unavailable(exc) from None
        self._conn = conn
        if not self._migrated:
            await self._migrate(conn)
            self._migrated = True
        return conn

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = redact_text(str(exc) or type(exc).__name__, self.location.password)
        return StoreUnavailable(f"the usage ledger at {self.location.shown}: {reason}")

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS lockgate_usage_migrations "
                "(id integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["id"] for r in await conn.fetch("SELECT id FROM lockgate_usage_migrations")}
            for ident, name, sql in MIGRATIONS:
                if ident not in done:
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO lockgate_usage_migrations (id, name) VALUES ($1, $2)",
                        ident,
                        name,
                    )

    async def _run(self, what: str, *args: Any) -> Any:
        """One statement (``what`` names the connection method) on the ledger's
        connection; a failure drops the connection and raises without the password."""
        async with self._lock:
            conn = await self._connection()
            try:
                return await getattr(conn, what)(*args)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._conn = None
                if not conn.is_closed():
                    conn.terminate()
                raise self._unavailable(exc) from None

    async def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            await self._run("executemany", _INSERT, rows)

    async def totals(
        self, since: float, until: float, group_by: str, consumer: str | None
    ) -> list[Totals]:
        column = GROUPS[group_by]
        key = _BUCKETS.get(column, column)
        where = "time >= $1 AND time < $2"
        params: list[Any] = [since, until]
        if consumer is not None:
            where += " AND consumer = $3"
            params.append(consumer)
        order = "key" if column in _BUCKETS else "cost DESC, requests DESC, key"
        sql = (
            f"SELECT {key} AS key, count(*) AS requests, "
            "count(*) FILTER (WHERE status >= 400) AS errors, "
            "sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, "
            "sum(cached_tokens) AS cached_tokens, sum(reasoning_tokens) AS reasoning_tokens, "
            "sum(cost) AS cost, avg(latency_ms)::float8 AS latency_ms_avg, "
            "avg(ttft_ms)::float8 AS ttft_ms_avg "
            f"FROM lockgate_usage_requests WHERE {where} GROUP BY 1 ORDER BY {order}"
        )
        rows = await self._run("fetch", sql, *params)
        out = []
        for row in rows:
            item = dict(row)
            for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"):
                item[name] = int(item[name] or 0)
            out.append(item)
        return out

    async def recent(self, limit: int, before: float | None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM lockgate_usage_requests"
        params: list[Any] = []
        if before is not None:
            sql += " WHERE time < $1"
            params.append(before)
        sql += f" ORDER BY time DESC, id DESC LIMIT ${len(params) + 1}"
        params.append(limit)
        return [dict(row) for row in await self._run("fetch", sql, *params)]

    async def percentiles(
        self, since: float, until: float, column: str, fractions: Sequence[float]
    ) -> list[float | None]:
        if column not in TIMINGS:
            raise ValueError(column)
        where = f"time >= $1 AND time < $2 AND {column} IS NOT NULL"
        count = int(
            await self._run(
                "fetchval",
                f"SELECT count(*) FROM lockgate_usage_requests WHERE {where}",
                since,
                until,
            )
        )
        out: list[float | None] = []
        for fraction in fractions:
            if not count:
                out.append(None)
                continue
            value = await self._run(
                "fetchval",
                f"SELECT {column} FROM lockgate_usage_requests WHERE {where} "
                f"ORDER BY {column} LIMIT 1 OFFSET $3",
                since,
                until,
                nearest_rank(count, fraction),
            )
            out.append(float(value))
        return out

    async def one(self, request_id: str) -> dict[str, Any] | None:
        row = await self._run(
            "fetchrow",
            f"SELECT {', '.join(COLUMNS)} FROM lockgate_usage_requests WHERE request_id = $1 "
            "ORDER BY id DESC LIMIT 1",
            request_id,
        )
        return dict(row) if row is not None else None

    async def prune(self, before: float) -> int:
        deleted = 0
        while True:
            status = await self._run(
                "execute",
                "DELETE FROM lockgate_usage_requests WHERE id IN "
                "(SELECT id FROM lockgate_usage_requests WHERE time < $1 LIMIT $2)",
                before,
                PRUNE_CHUNK,
            )
            count = int(str(status).rsplit(" ", 1)[-1])
            deleted += count
            if count < PRUNE_CHUNK:
                return deleted

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and not conn.is_closed():
                try:
                    await asyncio.wait_for(conn.close(), 2)
                except (OSError, TimeoutError, asyncpg.InterfaceError):
                    conn.terminate()
