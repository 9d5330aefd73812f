"""Where ledger rows live: the seam, and the choice that follows the
configuration store.

An implementation keeps the rows in the configuration store's own database
(one place for every node's usage) in a table of its own, created by its own
migration: SQLite's file when the store is embedded
(:mod:`lockgate.usage.sqlite`), the PostgreSQL database when the store is
PostgreSQL (:mod:`lockgate.usage.postgres`). All methods are coroutines so
that asyncpg fits as well as SQLite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from lockgate.store.base import ConfigStore

__all__ = ["Totals", "UsageStorage", "nearest_rank", "open_usage_storage"]

#: One group of totals: the group's key and the sums (see :meth:`UsageStorage.totals`).
Totals = dict[str, Any]


def nearest_rank(count: int, fraction: float) -> int:
    """The 0-based offset of the ``fraction`` percentile among ``count`` sorted values."""
    return max(0, min(count - 1, math.ceil(fraction * count) - 1))


class UsageStorage(Protocol):
    async def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append rows (tuples in :data:`lockgate.usage.rows.COLUMNS` order) in one transaction."""
        ...

    async def totals(
        self, since: float, until: float, group_by: str, consumer: str | None
    ) -> list[Totals]:
        """Per group (``group_by`` is a key of :data:`lockgate.usage.rows.GROUPS`)
        of the rows with ``since <= time < until``: ``key``, ``requests``,
        ``errors`` (status 400 and above), the four token sums, ``cost``,
        ``latency_ms_avg`` and ``ttft_ms_avg``; largest cost first (time
        buckets: in time order)."""
        ...

    async def recent(self, limit: int, before: float | None) -> list[dict[str, Any]]:
        """The newest ``limit`` rows (older than ``before`` when given), newest first."""
        ...

    async def percentiles(
        self, since: float, until: float, column: str, fractions: Sequence[float]
    ) -> list[float | None]:
        """Nearest-rank percentiles of ``column`` (one of
        :data:`lockgate.usage.rows.TIMINGS`) over the rows in the window that
        have it; None where there are none."""
        ...

    async def one(self, request_id: str) -> dict[str, Any] | None:
        """The row of one request, or None."""
        ...

    async def prune(self, before: float) -> int:
        """Delete rows older than ``before``; how many were deleted."""
        ...

    async def close(self) -> None: ...


def open_usage_storage(store: ConfigStore, *, busy_timeout: float = 30.0) -> UsageStorage:
    """The ledger's storage beside ``store``, in the same database.
    ``busy_timeout``: the longest a write waits for another writer (a proxy
    worker passes a short one: its loop must not wait)."""
    from lockgate.store.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from lockgate.usage.sqlite import SQLiteUsage

        return SQLiteUsage(store.path, busy_timeout=busy_timeout)
    from lockgate.store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from lockgate.usage.postgres import PostgresUsage

        return PostgresUsage(store.location.url)
    raise NotImplementedError(f"no usage ledger storage for {type(store).__name__} yet")
