"""ai-proxy-advanced's target ordering, algorithm by algorithm (pure, in-process)."""

from __future__ import annotations

from collections import Counter

from lockgate.llm.providers.config import ModelConfig
from lockgate.plugins.ai_proxy.schema import LoggingConfig
from lockgate.plugins.ai_proxy.target import Target
from lockgate.plugins.ai_proxy_advanced.balancer import Balancer


def targets(*weights: int) -> list[Target]:
    return [
        Target(
            plugin_id="p",
            client_format="anthropic",
            route_type="llm/v1/chat",
            model=ModelConfig(provider="openai", name=f"m{i}"),
            auth=None,
            logging=LoggingConfig(),
            weight=w,
            index=i,
        )
        for i, w in enumerate(weights)
    ]


def firsts(balancer: Balancer, n: int, hash_value: str | None = None) -> Counter[str]:
    return Counter(balancer.order(hash_value)[0].model.name or "" for _ in range(n))


def test_weighted_round_robin_is_exact_and_every_order_has_all_targets() -> None:
    b = Balancer(
        targets(300, 100), "round-robin", max_fails=0, fail_timeout_ms=1000, hash_header=None
    )
    assert firsts(b, 400) == {"m0": 300, "m1": 100}
    assert len(b.order()) == 2


def test_priority_uses_lower_groups_only_as_fallbacks() -> None:
    b = Balancer(
        targets(100, 100, 10), "priority", max_fails=0, fail_timeout_ms=1000, hash_header=None
    )
    seen = Counter()
    for _ in range(10):
        order = [t.model.name for t in b.order()]
        assert order[-1] == "m2"
        seen[order[0]] += 1
    assert seen == {"m0": 5, "m1": 5}


def test_lowest_latency_and_lowest_usage_and_least_connections() -> None:
    ts = targets(100, 100)
    b = Balancer(ts, "lowest-latency", max_fails=0, fail_timeout_ms=1000, hash_header=None)
    b.finished(ts[0], ok=True, latency_ms=500, tokens=10)
    b.finished(ts[1], ok=True, latency_ms=50, tokens=10)
    assert b.order()[0] is ts[1]

    b = Balancer(ts, "lowest-usage", max_fails=0, fail_timeout_ms=1000, hash_header=None)
    b.finished(ts[0], ok=True, latency_ms=1, tokens=1000)
    b.finished(ts[1], ok=True, latency_ms=1, tokens=10)
    assert b.order()[0] is ts[1]

    b = Balancer(ts, "least-connections", max_fails=0, fail_timeout_ms=1000, hash_header=None)
    b.started(ts[1])
    assert b.order()[0] is ts[0]


def test_consistent_hashing_is_sticky_per_key_and_spreads_keys() -> None:
    b = Balancer(
        targets(100, 100, 100),
        "consistent-hashing",
        max_fails=0,
        fail_timeout_ms=1000,
        hash_header="X-User",
    )
    for key in ("alice", "bob", "carol"):
        assert len(firsts(b, 20, key)) == 1
    spread = Counter(b.order(f"user-{i}")[0].model.name for i in range(300))
    assert len(spread) == 3 and min(spread.values()) > 50


def test_circuit_breaker_trips_after_max_fails() -> None:
    ts = targets(100, 100)
    b = Balancer(ts, "round-robin", max_fails=2, fail_timeout_ms=60_000, hash_header=None)
    b.finished(ts[0], ok=False, latency_ms=0, tokens=0)
    assert ts[0] in b.order()
    b.finished(ts[0], ok=False, latency_ms=0, tokens=0)
    assert all(b.order()[0] is ts[1] for _ in range(5))
    assert ts[0] not in b.order()
