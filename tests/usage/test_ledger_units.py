"""The ledger's pieces on a real SQLite file: the writer's batching, retry
and final flush, the storage's totals, and the query parameters."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lockgate.cli.usage import format_table
from lockgate.usage.queries import BadQuery, parse_time, recent_requests, usage_totals
from lockgate.usage.rows import COLUMNS
from lockgate.usage.sqlite import SQLiteUsage
from lockgate.usage.storage import UsageStorage
from lockgate.usage.writer import LedgerWriter

NOW = 1_800_000_000.0


def row(when: float, request_id: str, consumer: str | None, **values: Any) -> tuple[Any, ...]:
    base: dict[str, Any] = dict.fromkeys(COLUMNS)
    base.update(
        time=when,
        request_id=request_id,
        consumer=consumer,
        route="chat",
        service="llm",
        provider="openai",
        request_model="gpt-4o-mini",
        response_model="gpt-4o-mini-2024-07-18",
        prompt_tokens=10,
        completion_tokens=5,
        cached_tokens=0,
        reasoning_tokens=0,
        cost=0.001,
        latency_ms=100,
        llm_latency_ms=90,
        ttft_ms=30,
        status=200,
        mode="stream",
    )
    base.update(values)
    return tuple(base[c] for c in COLUMNS)


def stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT request_id FROM usage_requests ORDER BY id")]


async def test_close_writes_what_is_still_queued(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.db"
    writer = LedgerWriter(SQLiteUsage(str(path)), interval=3600)
    for i in range(3):
        writer.add(row(NOW + i, f"r{i}", "alice"))
    assert writer.pending == 3 and stored(path) == []
    await writer.close()
    assert stored(path) == ["r0", "r1", "r2"]


async def test_a_full_batch_is_written_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.db"
    writer = LedgerWriter(SQLiteUsage(str(path)), interval=3600, batch_size=2)
    writer.add(row(NOW, "a", None))
    writer.add(row(NOW, "b", None))
    for _ in range(100):
        if len(stored(path)) == 2:
            break
        await asyncio.sleep(0.02)
    assert stored(path) == ["a", "b"]
    await writer.close()


class FailsFirst:
    """The SQLite storage, except that its first write fails as a locked database would."""

    def __init__(self, inner: SQLiteUsage) -> None:
        self.inner = inner
        self.failed = False

    async def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("database is locked")
        await self.inner.write(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_failed_batch_is_kept_and_written_later(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.db"
    storage = FailsFirst(SQLiteUsage(str(path)))
    writer = LedgerWriter(storage, interval=0.05)  # type: ignore[arg-type]
    writer.add(row(NOW, "kept", None))
    for _ in range(100):
        if stored(path):
            break
        await asyncio.sleep(0.02)
    assert storage.failed and stored(path) == ["kept"]
    await writer.close()


async def test_totals_by_consumer_day_and_window(storage: UsageStorage) -> None:
    day = 86400
    await storage.write(
        [
            row(NOW - 2 * day, "old", "alice", cost=1.0),
            row(NOW - 10, "a1", "alice", cost=0.5, status=200),
            row(NOW - 5, "a2", "alice", cost=0.25, status=502, ttft_ms=None),
            row(NOW - 1, "b1", "bob", cost=2.0, prompt_tokens=100),
        ]
    )
    params = {"from": str(NOW - day), "to": str(NOW), "group_by": "consumer"}
    body = await usage_totals(storage, params)
    assert [(g["key"], g["requests"], g["errors"]) for g in body["data"]] == [
        ("bob", 1, 0),
        ("alice", 2, 1),
    ]
    assert body["data"][1]["cost"] == pytest.approx(0.75)
    assert body["total"]["prompt_tokens"] == 120 and body["total"]["requests"] == 3
    assert body["data"][1]["ttft_ms_avg"] == 30  # the failed call has no first token
    by_day = await usage_totals(storage, {**params, "from": str(NOW - 3 * day), "group_by": "day"})
    days = [g["key"] for g in by_day["data"]]
    assert days == sorted(days) and len(days) == 2
    only_bob = await usage_totals(storage, {**params, "consumer": "bob"})
    assert [g["key"] for g in only_bob["data"]] == ["bob"]
    page = await recent_requests(storage, {"limit": "2"})
    assert [r["request_id"] for r in page["data"]] == ["b1", "a2"]
    rest = await recent_requests(storage, {"limit": "2", "before": page["next"]})
    assert [r["request_id"] for r in rest["data"]] == ["a1", "old"]
    hours = await usage_totals(storage, {**params, "group_by": "hour"})
    assert [g["requests"] for g in hours["data"]] == [3]
    assert hours["data"][0]["key"].endswith(":00Z")
    assert await storage.prune(NOW - day) == 1
    assert [r["request_id"] for r in (await recent_requests(storage, {}))["data"]] == [
        "b1",
        "a2",
        "a1",
    ]


def test_times_in_queries() -> None:
    assert parse_time("from", "7d", NOW) == NOW - 7 * 86400
    assert parse_time("from", "90m", NOW) == NOW - 5400
    assert parse_time("from", "1700000000.5", NOW) == 1700000000.5
    assert (
        parse_time("from", "2026-12-03", NOW) == dt.datetime(2026, 12, 3, tzinfo=dt.UTC).timestamp()
    )
    assert (
        parse_time("to", "2026-12-03T07:00:00+01:00", NOW)
        == dt.datetime(2026, 12, 3, 6, tzinfo=dt.UTC).timestamp()
    )
    with pytest.raises(BadQuery, match=r"^from: "):
        parse_time("from", "last tuesday", NOW)


async def test_bad_group_and_limit(tmp_path: Path) -> None:
    storage = SQLiteUsage(str(tmp_path / "lockgate.db"))
    with pytest.raises(BadQuery, match=r"^group_by: "):
        await usage_totals(storage, {"group_by": "colour"})
    with pytest.raises(BadQuery, match=r"^limit: "):
        await recent_requests(storage, {"limit": "5000"})
    await storage.close()


def test_the_migration_runs_once(tmp_path: Path) -> None:
    path = str(tmp_path / "lockgate.db")
    SQLiteUsage(path).close_now()
    SQLiteUsage(path).close_now()  # a second process finds it done
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id, name FROM usage_migrations").fetchall() == [
            (1, "usage_requests")
        ]


def test_table_of_totals() -> None:
    body = {
        "from": "2026-11-26T00:00:00.000Z",
        "to": "2026-12-03T00:00:00.000Z",
        "group_by": "model",
        "consumer": None,
        "data": [
            {
                "key": "gpt-4o-mini",
                "requests": 1200,
                "errors": 3,
                "prompt_tokens": 1_500_000,
                "completion_tokens": 20_000,
                "cached_tokens": 0,
                "reasoning_tokens": 0,
                "cost": 4.8,
                "latency_ms_avg": 812.4,
                "ttft_ms_avg": None,
            }
        ],
        "total": {
            "requests": 1200,
            "errors": 3,
            "prompt_tokens": 1_500_000,
            "completion_tokens": 20_000,
            "cached_tokens": 0,
            "reasoning_tokens": 0,
            "cost": 4.8,
        },
    }
    lines = format_table(body).splitlines()
    assert lines[0] == "AI usage from 2026-11-26T00:00:00.000Z to 2026-12-03T00:00:00.000Z"
    assert lines[1].split()[:3] == ["MODEL", "REQUESTS", "ERRORS"]
    model = lines[3].split()
    assert model[:4] == ["gpt-4o-mini", "1,200", "3", "1,500,000"]
    assert "$4.8000" in model and model[-2:] == ["812", "-"]
    assert lines[-1].split()[:2] == ["TOTAL", "1,200"]
