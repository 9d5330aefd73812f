"""The counters behind every limiting plugin: a node's table shared by its
worker processes, and Redis shared by every node (a real redis-server)."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

import pytest
from tests.support.redis_server import redis_server

from lockgate.counters import CountersUnavailable
from lockgate.counters.local import LocalCounters, create_table
from lockgate.counters.redis import RedisCounters, RedisSettings


def _hammer(path: str, key: str, times: int) -> None:
    table = LocalCounters(path)
    for _ in range(times):
        table.add_now(key, 7, 1.0, int(time.time()) + 60)


async def test_local_windows_roll_over() -> None:
    table = LocalCounters()
    later = int(time.time()) + 60
    assert (await table.add("k", 1, 2.0, later)).current == 2.0
    counts = await table.add("k", 1, 3.0, later)
    assert (counts.current, counts.previous) == (5.0, 0.0)
    counts = await table.add("k", 2, 1.0, later)  # the next window keeps the last one
    assert (counts.current, counts.previous) == (1.0, 5.0)
    counts = await table.add("k", 4, 1.0, later)  # a gap: nothing carries over
    assert (counts.current, counts.previous) == (1.0, 0.0)
    counts = await table.add("k", 3, -1.0, later)  # a late correction is dropped
    assert (counts.current, counts.previous) == (1.0, 0.0)
    assert (await table.add("other", 4, 0.5, later)).current == 0.5


async def test_local_expired_slots_are_reused() -> None:
    table = LocalCounters()
    past = int(time.time()) - 1
    await table.add("gone", 1, 9.0, past)
    assert (await table.add("gone", 1, 1.0, past + 100)).current == 1.0


def test_local_counts_once_for_all_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "counters")
    create_table(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(path, "shared", 500)) for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    counts = LocalCounters(path).add_now("shared", 7, 0.0, int(time.time()) + 60)
    assert counts.current == 1500.0


async def test_redis_counts_across_clients(tmp_path: Path) -> None:
    with redis_server(tmp_path, password="s3cret-pass") as server:
        settings = RedisSettings(host=server.host, port=server.port, password="s3cret-pass")
        a, b = RedisCounters(settings), RedisCounters(settings)
        later = int(time.time()) + 60
        results = await asyncio.gather(*(c.add("k", 10, 1.5, later) for c in [a, b] * 20))
        assert max(r.current for r in results) == 60.0
        counts = await a.add("k", 11, 1.0, later)
        assert (counts.current, counts.previous) == (1.0, 60.0)
        await a.close()
        await b.close()


async def test_redis_down_is_a_quick_clear_error(tmp_path: Path) -> None:
    with redis_server(tmp_path, password="s3cret-pass") as server:
        settings = RedisSettings(
            host=server.host, port=server.port, password="s3cret-pass", timeout=500
        )
        counters = RedisCounters(settings)
        await counters.add("k", 1, 1.0, int(time.time()) + 60)
    started = time.monotonic()
    with pytest.raises(CountersUnavailable) as caught:
        await counters.add("k", 1, 1.0, int(time.time()) + 60)
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{server.port}" in str(caught.value)
    assert "s3cret-pass" not in str(caught.value)
    await counters.close()


async def test_redis_additions_sent_together_each_see_the_ones_before(tmp_path: Path) -> None:
    # Concurrent additions share script calls; each must still be counted on
    # its own, in turn, as separate calls would be: every count from 1 to 60
    # is seen exactly once, across two clients (two nodes).
    with redis_server(tmp_path) as server:
        settings = RedisSettings(host=server.host, port=server.port)
        a, b = RedisCounters(settings), RedisCounters(settings)
        later = int(time.time()) + 60
        results = await asyncio.gather(
            *(c.add_many([("k", 10, 1.0, later), ("other", 10, 2.0, later)]) for c in [a, b] * 30)
        )
        assert sorted(r[0].current for r in results) == [float(n) for n in range(1, 61)]
        assert sorted(r[1].current for r in results) == [float(2 * n) for n in range(1, 61)]
        # A correction nobody waits for still counts, and close() lets it leave.
        soon = a.add_soon([("k", 10, -10.0, later)])
        await a.close()
        assert (await soon)[0].current == 50.0
        assert (await b.add("k", 10, 0.0, later)).current == 50.0
        await b.close()


async def test_redis_down_fails_every_queued_addition_quickly(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        settings = RedisSettings(host=server.host, port=server.port, timeout=500)
        counters = RedisCounters(settings)
        await counters.add("k", 1, 1.0, int(time.time()) + 60)
    started = time.monotonic()
    results = await asyncio.gather(
        *(counters.add("k", 1, 1.0, int(time.time()) + 60) for _ in range(20)),
        return_exceptions=True,
    )
    assert time.monotonic() - started < 5
    assert all(isinstance(r, CountersUnavailable) for r in results), results
    await counters.close()
