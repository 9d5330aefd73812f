"""Kong's metric families (``kong/plugins/prometheus/exporter.lua``): names,
help texts, label names and histogram buckets, and the per-worker objects
that count into them.

Counting uses ``prometheus-client``. Under ``lockgate start`` every worker
process is started with ``PROMETHEUS_MULTIPROC_DIR`` set (the library's
multiprocess mode): each worker's values live in memory-mapped files of its
own in that directory, and :mod:`.exposition` sums them per node. Without it
(a gateway run inside a test) values stay in the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

__all__ = [
    "AI_LLM_PROVIDER_LATENCY_BUCKETS",
    "FAMILIES",
    "KONG_LATENCY_BUCKETS",
    "UPSTREAM_LATENCY_BUCKETS",
    "Family",
    "KongMetrics",
]

KONG_LATENCY_BUCKETS = (1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000)
UPSTREAM_LATENCY_BUCKETS = (25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000)
AI_LLM_PROVIDER_LATENCY_BUCKETS = (
    250,
    500,
    1000,
    1500,
    2000,
    2500,
    3000,
    3500,
    4000,
    4500,
    5000,
    10000,
    30000,
    60000,
)

_SERVICE_ROUTE = ("service", "route", "workspace")
_AI = (
    "ai_provider",
    "ai_model",
    "cache_status",
    "vector_db",
    "embeddings_provider",
    "embeddings_model",
    "workspace",
    "consumer",
    "request_mode",
)
_AI_TOKENS = (*_AI[:6], "token_type", *_AI[6:])


@dataclass(frozen=True)
class Family:
    """One metric family as Kong exposes it. ``name`` is the exposed name;
    counters are exposed under exactly that name (Kong's ``kong_bandwidth_bytes``
    has no ``_total``, and its dashboards query it so)."""

    name: str
    kind: str  # "counter" or "histogram"
    help: str
    labels: tuple[str, ...]
    buckets: tuple[int, ...] = ()

    @property
    def client_name(self) -> str:
        """The name prometheus-client files it under (counters lose ``_total``)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "kong_http_requests_total",
            "counter",
            "HTTP status codes per consumer/service/route in Kong",
            ("service", "route", "code", "source", "workspace", "consumer"),
        ),
        Family(
            "kong_kong_latency_ms",
            "histogram",
            "Latency added by Kong and enabled plugins for each service/route in Kong",
            _SERVICE_ROUTE,
            KONG_LATENCY_BUCKETS,
        ),
        Family(
            "kong_upstream_latency_ms",
            "histogram",
            "Latency added by upstream response for each service/route in Kong",
            _SERVICE_ROUTE,
            UPSTREAM_LATENCY_BUCKETS,
        ),
        Family(
            "kong_request_latency_ms",
            "histogram",
            "Total latency incurred during requests for each service/route in Kong",
            _SERVICE_ROUTE,
            UPSTREAM_LATENCY_BUCKETS,
        ),
        Family(
            "kong_bandwidth_bytes",
            "counter",
            "Total bandwidth (ingress/egress) throughput in bytes",
            ("service", "route", "direction", "workspace", "consumer"),
        ),
        Family(
            "kong_ai_llm_requests_total",
            "counter",
            "AI requests total per ai_provider in Kong",
            _AI,
        ),
        Family(
            "kong_ai_llm_cost_total",
            "counter",
            "AI requests cost per ai_provider/cache in Kong",
            _AI,
        ),
        Family(
            "kong_ai_llm_tokens_total",
            "counter",
            "AI requests cost per ai_provider/cache in Kong",
            _AI_TOKENS,
        ),
        Family(
            "kong_ai_llm_provider_latency_ms",
            "histogram",
            "LLM response Latency for each AI plugins per ai_provider in Kong",
            _AI,
            AI_LLM_PROVIDER_LATENCY_BUCKETS,
        ),
    )
}


class KongMetrics:
    """One worker's counters and histograms, shared by every prometheus
    plugin instance and configuration version of that worker.

    ``inc``/``observe`` keep each label combination's child in a dict, so
    the hot path is one dictionary lookup and one update of a memory-mapped
    value, not prometheus-client's label validation."""

    def __init__(self) -> None:
        self._metrics: dict[str, Any] = {}
        for family in FAMILIES.values():
            if family.kind == "counter":
                metric: Any = Counter(family.client_name, family.help, family.labels, registry=None)
            else:
                metric = Histogram(
                    family.name,
                    family.help,
                    family.labels,
                    registry=None,
                    buckets=[float(b) for b in family.buckets],
                )
            self._metrics[family.name] = metric
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}

    def _child(self, name: str, labels: tuple[str, ...]) -> Any:
        key = (name, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._metrics[name].labels(*labels)
        return child

    def inc(self, name: str, labels: tuple[str, ...], amount: float = 1) -> None:
        self._child(name, labels).inc(amount)

    def observe(self, name: str, labels: tuple[str, ...], value: float) -> None:
        self._child(name, labels).observe(value)

    def close(self) -> None:
        """Nothing to release: multiprocess values stay in their files for the node's sum."""
