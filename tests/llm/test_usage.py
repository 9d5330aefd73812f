"""Pricing a call's usage."""

from __future__ import annotations

import pytest

from lockgate.llm.usage import Usage, usage_cost


def test_plain_usage_costs_input_and_output() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=500_000)
    assert usage_cost(usage, 2.5, 10.0) == pytest.approx(2.5 + 5.0)


def test_cache_hits_and_writes_cost_their_own_price() -> None:
    # 100k prompt tokens: 60k read from the cache, 30k written to it, 10k fresh.
    usage = Usage(
        prompt_tokens=100_000, completion_tokens=1_000, cached_tokens=60_000,
        cache_creation_tokens=30_000, reasoning_tokens=400,
    )  # fmt: skip
    cost = usage_cost(usage, 3.0, 15.0, cached_input_price=0.3, cache_write_price=3.75)
    assert cost == pytest.approx((10_000 * 3.0 + 60_000 * 0.3 + 30_000 * 3.75 + 1_000 * 15.0) / 1e6)
    # Without cache prices, every prompt token costs the input price.
    assert usage_cost(usage, 3.0, 15.0) == pytest.approx((100_000 * 3.0 + 1_000 * 15.0) / 1e6)


def test_inconsistent_counts_never_price_below_zero() -> None:
    usage = Usage(prompt_tokens=10, cached_tokens=50, cache_creation_tokens=50)
    assert usage_cost(usage, 1.0, 1.0, 0.5, 2.0) == pytest.approx(10 * 0.5 / 1e6)
