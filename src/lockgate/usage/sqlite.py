"""The ledger in the embedded store's SQLite file, table ``usage_requests``.

Each process (proxy workers write, the Admin API reads and prunes) opens its
own connection. WAL mode lets readers work while a worker writes. A batch is
one transaction written on the worker's event loop thread: a few
microseconds a row. (Written from a thread, the sqlite3 module's release of
the GIL around every row made the two threads trade the GIL hundreds of
times a batch, which cost the worker some 15 us of CPU per request.) A
worker waits at most ``busy_timeout`` for another process's write lock; a
batch that finds the lock held longer is kept and tried again at the next
interval (:class:`~lockgate.usage.writer.LedgerWriter`). Reads and pruning
run in a thread, where waiting does no harm.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from lockgate.usage.rows import COLUMNS, GROUPS, TIMINGS
from lockgate.usage.storage import Totals, nearest_rank

__all__ = ["MIGRATIONS", "PRUNE_CHUNK", "SQLiteUsage"]

#: The ledger's own migrations (id, name, SQL), applied in order, recorded in ``usage_migrations``.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "usage_requests",
        """
        CREATE TABLE usage_requests (
            id INTEGER PRIMARY KEY,
            time REAL NOT NULL,
            request_id TEXT NOT NULL,
            consumer TEXT,
            route TEXT,
            service TEXT,
            provider TEXT,
            request_model TEXT,
            response_model TEXT,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            cached_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens INTEGER NOT NULL DEFAULT 0,
            cost REAL NOT NULL DEFAULT 0,
            latency_ms INTEGER,
            llm_latency_ms INTEGER,
            ttft_ms INTEGER,
            status INTEGER,
            mode TEXT,
            session_id TEXT
        );
        CREATE INDEX usage_requests_time ON usage_requests (time);
        """,
    ),
)

_INSERT = (
    f"INSERT INTO usage_requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
_BUCKETS = {
    "day": "strftime('%Y-%m-%d', time, 'unixepoch')",
    "hour": "strftime('%Y-%m-%dT%H:00Z', time, 'unixepoch')",
    "minute": "strftime('%Y-%m-%dT%H:%MZ', time, 'unixepoch')",
}


#: Rows deleted per transaction when pruning, so that writers wait for the lock only briefly.
PRUNE_CHUNK = 5000


class SQLiteUsage:
    def __init__(self, path: str, *, busy_timeout: float = 30.0) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")

    def _migrate(self) -> None:
        db = self._db
        with self._lock:
            db.execute(
                "CREATE TABLE IF NOT EXISTS usage_migrations "
                "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            db.execute("BEGIN IMMEDIATE")  # one process migrates; the others then find it done
            try:
                done = {row[0] for row in db.execute("SELECT id FROM usage_migrations")}
                for ident, name, sql in MIGRATIONS:
                    if ident in done:
                        continue
                    for statement in sql.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(
                        "INSERT INTO usage_migrations (id, name, applied_at) VALUES (?, ?, ?)",
                        (ident, name, time.time()),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def write_now(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """The write itself, on the caller's thread."""
        if not rows:
            return
        db = self._db
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_INSERT, rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.write_now(rows)

    def _query(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    async def totals(
        self, since: float, until: float, group_by: str, consumer: str | None
    ) -> list[Totals]:
        column = GROUPS[group_by]
        key = _BUCKETS.get(column, column)
        where = "time >= ? AND time < ?"
        params: list[Any] = [since, until]
        if consumer is not None:
            where += " AND consumer = ?"
            params.append(consumer)
        order = "key" if column in _BUCKETS else "cost DESC, requests DESC, key"
        sql = (
            f"SELECT {key} AS key, COUNT(*) AS requests, "
            "SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors, "
            "SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, "
            "SUM(cached_tokens) AS cached_tokens, SUM(reasoning_tokens) AS reasoning_tokens, "
            "SUM(cost) AS cost, AVG(latency_ms) AS latency_ms_avg, AVG(ttft_ms) AS ttft_ms_avg "
            f"FROM usage_requests WHERE {where} GROUP BY key ORDER BY {order}"
        )
        rows = await asyncio.to_thread(self._query, sql, params)
        return [dict(row) for row in rows]

    async def recent(self, limit: int, before: float | None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM usage_requests"
        params: list[Any] = []
        if before is not None:
            sql += " WHERE time < ?"
            params.append(before)
        sql += " ORDER BY time DESC, id DESC LIMIT ?"
        params.append(limit)
        rows = await asyncio.to_thread(self._query, sql, params)
        return [dict(row) for row in rows]

    async def percentiles(
        self, since: float, until: float, column: str, fractions: Sequence[float]
    ) -> list[float | None]:
        if column not in TIMINGS:
            raise ValueError(column)
        where = f"time >= ? AND time < ? AND {column} IS NOT NULL"
        rows = await asyncio.to_thread(
            self._query, f"SELECT COUNT(*) FROM usage_requests WHERE {where}", [since, until]
        )
        count = int(rows[0][0])
        out: list[float | None] = []
        for fraction in fractions:
            if not count:
                out.append(None)
                continue
            found = await asyncio.to_thread(
                self._query,
                f"SELECT {column} FROM usage_requests WHERE {where} "
                f"ORDER BY {column} LIMIT 1 OFFSET ?",
                [since, until, nearest_rank(count, fraction)],
            )
            out.append(float(found[0][0]))
        return out

    async def one(self, request_id: str) -> dict[str, Any] | None:
        rows = await asyncio.to_thread(
            self._query,
            f"SELECT {', '.join(COLUMNS)} FROM usage_requests WHERE request_id = ? "
            "ORDER BY id DESC LIMIT 1",
            [request_id],
        )
        return dict(rows[0]) if rows else None

    def _prune(self, before: float) -> int:
        deleted = 0
        while True:
            with self._lock:
                count = self._db.execute(
                    "DELETE FROM usage_requests WHERE id IN "
                    "(SELECT id FROM usage_requests WHERE time < ? LIMIT ?)",
                    (before, PRUNE_CHUNK),
                ).rowcount
            deleted += count
            if count < PRUNE_CHUNK:
                return deleted

    async def prune(self, before: float) -> int:
        return await asyncio.to_thread(self._prune, before)

    def close_now(self) -> None:
        with self._lock:
            self._db.close()

    async def close(self) -> None:
        self.close_now()
