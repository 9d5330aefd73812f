"""A proxy worker's side of the ledger: rows are queued on the request path
(an append) and written in batches by a background task, one transaction
per batch, at most ``interval`` seconds after they were queued.

A batch that cannot be written (the database is away, or another process
holds its write lock) stays queued and is tried again at the next interval; beyond ``max_pending``
rows the oldest are dropped, with an error in the log. :meth:`close` writes
everything still queued, so a graceful stop loses no row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from lockgate.usage.storage import UsageStorage

__all__ = ["LedgerWriter"]

log = logging.getLogger("lockgate.usage")

#: How long a stopping worker keeps trying to write its last rows.
STOP_TIMEOUT = 10.0


class LedgerWriter:
    def __init__(
        self,
        storage: UsageStorage,
        *,
        interval: float = 1.0,
        batch_size: int = 500,
        max_pending: int = 200_000,
    ) -> None:
        self.storage = storage
        self.interval = interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._pending: list[tuple[Any, ...]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, row: tuple[Any, ...]) -> None:
        pending = self._pending
        pending.append(row)
        if self._task is not None or self._closed:
            return  # the running flush takes it
        if len(pending) >= self.batch_size:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        if self._task is None and self._pending:
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending:
                rows, self._pending = self._pending, []
                try:
                    await self.storage.write(rows)
                except Exception as exc:
                    self._requeue(rows, exc)
                    break
        finally:
            self._task = None
        if self._pending and not self._closed and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._start_flush)

    def _requeue(self, rows: list[tuple[Any, ...]], exc: Exception) -> None:
        self._pending[:0] = rows
        excess = len(self._pending) - self.max_pending
        if excess > 0:
            del self._pending[:excess]
            log.error("usage ledger: dropped the %d oldest unwritten rows", excess)
        log.warning("usage ledger: could not write %d rows (%s); trying again", len(rows), exc)

    async def close(self) -> None:
        """Write what is queued (waiting for a batch in flight), then close the storage."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            await self._task
        rows, self._pending = self._pending, []
        deadline = time.monotonic() + STOP_TIMEOUT
        while rows:
            try:
                await self.storage.write(rows)
                break
            except Exception:
                # Other workers stop at the same moment and hold the write lock in turn.
                if time.monotonic() > deadline:
                    log.exception("usage ledger: %d rows could not be written at stop", len(rows))
                    break
                await asyncio.sleep(0.02)
        await self.storage.close()
