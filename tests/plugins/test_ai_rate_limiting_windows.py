"""Window arithmetic of ai-rate-limiting-advanced: numbered windows of N
seconds, the sliding weight of the previous window, and reading a count
without changing it (what the Admin API does)."""

from __future__ import annotations

import asyncio
import time

import pytest

from lockgate.counters import WindowCounts
from lockgate.counters.local import LocalCounters
from lockgate.plugins.ai_rate_limiting_advanced.windows import (
    counter_key,
    read_used,
    seconds_text,
    used,
    window_of,
)


def test_windows_are_numbered_and_expire_after_the_next() -> None:
    window = window_of(60, 1_000_030.5)
    assert window.id == 16667 and window.starts_at == 1_000_020 and window.ends_at == 1_000_080
    assert window.expires_at > window.ends_at + 59
    assert window_of(60, window.ends_at).id == window.id + 1


def test_sliding_weighs_the_previous_window_by_its_overlap() -> None:
    window = window_of(100, 1_000_025)  # a quarter into the window
    counts = WindowCounts(current=10, previous=40)
    assert used(counts, window, 100, "sliding", 1_000_025) == pytest.approx(10 + 40 * 0.75)
    assert used(counts, window, 100, "fixed", 1_000_025) == 10


def test_header_and_key_names_keep_whole_seconds_whole() -> None:
    assert seconds_text(2592000.0) == "2592000" and seconds_text(0.5) == "0.5"
    assert counter_key("ns", "openai", 60.0, "who") == "airl:ns:openai:60:who"


def test_reading_adds_nothing() -> None:
    async def run() -> tuple[float, float]:
        counters = LocalCounters()
        now = time.time()
        window = window_of(3600, now)
        await counters.add("k", window.id, 7, window.expires_at)
        first, _ = await read_used(counters, "k", 3600, "fixed", now)
        second, _ = await read_used(counters, "k", 3600, "fixed", now)
        await counters.close()
        return first, second

    assert asyncio.run(run()) == (7, 7)
