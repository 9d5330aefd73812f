"""Counters shared by the worker processes of one node.

The table lives in a file that every worker maps into memory (``MAP_SHARED``:
the kernel keeps one copy in the page cache), so an addition by one worker is
seen by the next request on any other. Each operation holds an exclusive
``flock`` on the file for a few microseconds; no worker ever waits on I/O
while holding it.

Layout: a fixed number of slots, open addressing with linear probing on a
64-bit hash of the key. A slot holds the hash, the window number, when the
count stops mattering, and two counts (this window and the one before). An
expired slot is free for a new key but never cleared, so probe chains stay
intact. The table resets when the supervisor
creates it at start, as Kong's local policy resets with its shared dict.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import mmap
import os
import struct
import time
from collections.abc import Sequence

from lockgate.counters import Addition, CountersUnavailable, WindowCounts

__all__ = ["LocalCounters", "create_table"]

_SLOT = struct.Struct("<Qqqdd")  # hash, window_id, expires_at, current, previous
_UNPACK, _PACK, _SLOT_SIZE = _SLOT.unpack_from, _SLOT.pack_into, _SLOT.size
SLOTS = 1 << 16
SIZE = SLOTS * _SLOT_SIZE


def create_table(path: str) -> None:
    """Create (or empty) the node's table; the supervisor does this at start."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, SIZE)
    finally:
        os.close(fd)


def _hash(key: str) -> int:
    # Never 0: a zero hash marks an unused slot.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


#: Hashes remembered per process (a consumer's keys recur on every request); emptied beyond this.
HASH_CACHE = 4096


class LocalCounters:
    """``path``: the node's table file; None for a table private to this process."""

    def __init__(self, path: str | None = None) -> None:
        if path is None:
            self._fd = -1
            self._map = mmap.mmap(-1, SIZE)
        else:
            if not os.path.exists(path) or os.path.getsize(path) != SIZE:
                create_table(path)
            self._fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            self._map = mmap.mmap(self._fd, SIZE, mmap.MAP_SHARED)
        self._hashes: dict[str, int] = {}

    def _hash(self, key: str) -> int:
        h = self._hashes.get(key)
        if h is None:
            if len(self._hashes) >= HASH_CACHE:
                self._hashes.clear()
            h = self._hashes[key] = _hash(key)
        return h

    async def add(self, key: str, window_id: int, amount: float, expires_at: int) -> WindowCounts:
        return self.add_now(key, window_id, amount, expires_at)

    def add_now(self, key: str, window_id: int, amount: float, expires_at: int) -> WindowCounts:
        h = self._hash(key)
        now = int(time.time())
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            return self._add(h, window_id, amount, expires_at, now)
        finally:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    async def add_many(self, items: Sequence[Addition]) -> list[WindowCounts]:
        return self.add_many_now(items)

    def add_soon(self, items: Sequence[Addition]) -> asyncio.Future[list[WindowCounts]]:
        done: asyncio.Future[list[WindowCounts]] = asyncio.get_running_loop().create_future()
        try:
            done.set_result(self.add_many_now(items))
        except CountersUnavailable as exc:
            done.set_exception(exc)
        return done

    def add_many_now(self, items: Sequence[Addition]) -> list[WindowCounts]:
        now = int(time.time())
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            return [
                self._add(self._hash(key), window_id, amount, expires_at, now)
                for key, window_id, amount, expires_at in items
            ]
        finally:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _add(
        self, h: int, window_id: int, amount: float, expires_at: int, now: int
    ) -> WindowCounts:
        table = self._map
        free = -1
        index = h & (SLOTS - 1)
        for _ in range(SLOTS):
            offset = index * _SLOT_SIZE
            slot_hash, slot_id, slot_expires, current, previous = _UNPACK(table, offset)
            if slot_hash == h and slot_expires > now:
                if slot_id == window_id:
                    current += amount
                elif slot_id == window_id - 1:
                    previous, current = current, amount
                elif slot_id < window_id:
                    previous, current = 0.0, amount
                else:  # a late correction for a window that has moved on: drop it
                    return WindowCounts(current, previous)
                _PACK(table, offset, h, window_id, max(slot_expires, expires_at), current, previous)
                return WindowCounts(current, previous)
            if slot_hash == 0:
                if free < 0:
                    free = offset
                break
            if free < 0 and slot_expires <= now:
                free = offset
            index = (index + 1) & (SLOTS - 1)
        if free < 0:
            raise CountersUnavailable("the local counter table is full")
        _PACK(table, free, h, window_id, expires_at, amount, 0.0)
        return WindowCounts(amount, 0.0)

    async def close(self) -> None:
        self._map.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
