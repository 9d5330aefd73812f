"""Shared counters for the limiting plugins, behind one interface.

A counter is a number per (key, window): requests, tokens or cost counted in
one time window. :class:`WindowCounts` is what one addition returns: the
count of the current window after the addition and the count of the window
before it (a sliding window weighs that one by how much of it still
overlaps). Two implementations:

- :class:`~lockgate.counters.local.LocalCounters`: one table in a
  memory-mapped file shared by every worker process of a node, so a node
  counts once whatever its number of workers;
- :class:`~lockgate.counters.redis.RedisCounters`: one Redis server shared
  by every node.

Plugins never talk to Redis or the table directly. Errors reaching the
store raise :class:`CountersUnavailable` (its cause chained), which a plugin
turns into its ``fault_tolerant`` behaviour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Addition", "Counters", "CountersUnavailable", "WindowCounts"]

#: One addition: key, window number, amount, expires_at (as :meth:`Counters.add` takes them).
Addition = tuple[str, int, float, int]


class CountersUnavailable(Exception):
    """The counter store could not be reached or answered in time."""


@dataclass(slots=True)  # not frozen: made several times per request, and frozen costs 2x
class WindowCounts:
    current: float
    previous: float


class Counters(Protocol):
    async def add(self, key: str, window_id: int, amount: float, expires_at: int) -> WindowCounts:
        """Add ``amount`` (may be 0 or negative) to ``key``'s count in window
        number ``window_id`` (consecutive windows have consecutive numbers) and
        return the counts after it. ``expires_at`` (epoch seconds) is when the
        count stops mattering: the end of the window after this one."""
        ...

    async def add_many(self, items: Sequence[Addition]) -> list[WindowCounts]:
        """Several :meth:`add` at once (one lock, or one round trip to the
        server), each atomic on its own; the counts in the same order."""
        ...

    def add_soon(self, items: Sequence[Addition]) -> asyncio.Future[list[WindowCounts]]:
        """:meth:`add_many` for additions nobody waits for (usage corrections):
        made now, or sent with the next call to the server. The future says
        how it went."""
        ...

    async def close(self) -> None: ...
