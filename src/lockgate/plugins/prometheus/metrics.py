"""Kong's metric families (``kong/plugins/prometheus/exporter.lua``): names,
help texts, label names and histogram buckets, and the per-worker object
that counts into them.

Counting works as Kong's does (``resty.counter``): each worker adds to plain
in-process totals on the request path, and once a second writes them to
its own value files, which :mod:`.exposition` sums per node. The files are
prometheus-client's multiprocess files (``counter_<pid>.db``,
``histogram_<pid>.db``, written with its ``MmapedDict`` and read back with
its ``MultiProcessCollector.merge``): updating a memory-mapped value per
sample on the request path, as the library's metric objects do, costs
several microseconds each, about 80 per request with every family on.
Values reach ``/metrics`` within a second.
"""

from __future__ import annotations

import asyncio
import bisect
import os
from dataclasses import dataclass
from typing import Any

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.utils import floatToGoString

__all__ = [
    "AI_LLM_PROVIDER_LATENCY_BUCKETS",
    "FAMILIES",
    "FLUSH_INTERVAL",
    "KONG_LATENCY_BUCKETS",
    "UPSTREAM_LATENCY_BUCKETS",
    "Family",
    "KongMetrics",
]

#: Seconds between a worker's writes of its totals to its value files (Kong's sync interval).
FLUSH_INTERVAL = 1.0

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
    """One worker's totals, shared by every prometheus plugin instance and
    configuration version of that worker. ``directory`` holds the node's
    value files; without one (a gateway inside a test) totals stay here."""

    def __init__(self, directory: str | None = None) -> None:
        self.directory = directory
        #: Counter totals by (family name, label values).
        self.counters: dict[tuple[str, tuple[str, ...]], float] = {}
        #: Histograms by (family name, label values): [sum, count per bucket..., count above].
        self.histograms: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        self._bounds = {f.name: f.buckets for f in FAMILIES.values() if f.kind == "histogram"}
        self._files: dict[str, MmapedDict] = {}
        self._keys: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._timer: asyncio.TimerHandle | None = None

    def inc(self, name: str, labels: tuple[str, ...], amount: float = 1) -> None:
        key = (name, labels)
        counters = self.counters
        counters[key] = counters.get(key, 0) + amount
        if self._timer is None:
            self._schedule()

    def observe(self, name: str, labels: tuple[str, ...], value: float) -> None:
        key = (name, labels)
        found = self.histograms.get(key)
        if found is None:
            found = self.histograms[key] = [0.0] * (len(self._bounds[name]) + 2)
        found[0] += value
        # A value on a bound counts in that bound's bucket (le: less or equal).
        found[1 + bisect.bisect_left(self._bounds[name], value)] += 1
        if self._timer is None:
            self._schedule()

    def _schedule(self) -> None:
        if self.directory is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._timer = loop.call_later(FLUSH_INTERVAL, self.flush)

    def _file(self, kind: str) -> MmapedDict:
        found = self._files.get(kind)
        if found is None:
            assert self.directory is not None
            path = os.path.join(self.directory, f"{kind}_{os.getpid()}.db")
            found = self._files[kind] = MmapedDict(path)
        return found

    def _counter_key(self, name: str, labels: tuple[str, ...]) -> str:
        key = self._keys.get((name, labels))
        if key is None:
            family = FAMILIES[name]
            key = self._keys[(name, labels)] = mmap_key(
                family.client_name,
                family.client_name + "_total",
                list(family.labels),
                list(labels),
                family.help,
            )
        return str(key)

    def _histogram_keys(self, name: str, labels: tuple[str, ...]) -> list[str]:
        keys = self._keys.get((name, labels))
        if keys is None:
            family = FAMILIES[name]
            bucket_labels = [*family.labels, "le"]
            keys = [mmap_key(name, name + "_sum", list(family.labels), list(labels), family.help)]
            for bound in (*family.buckets, float("inf")):
                keys.append(
                    mmap_key(
                        name,
                        name + "_bucket",
                        bucket_labels,
                        [*labels, floatToGoString(bound)],
                        family.help,
                    )
                )
            self._keys[(name, labels)] = keys
        return list(keys)

    def flush(self) -> None:
        """Write every total to this worker's value files (absolute values:
        a write that is repeated or lost is corrected by the next)."""
        self._timer = None
        if self.directory is None:
            return
        if self.counters:
            counters = self._file("counter")
            for (name, labels), value in self.counters.items():
                counters.write_value(self._counter_key(name, labels), value, 0.0)
        if self.histograms:
            histograms = self._file("histogram")
            for (name, labels), values in self.histograms.items():
                for key, value in zip(self._histogram_keys(name, labels), values, strict=True):
                    histograms.write_value(key, value, 0.0)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.flush()
        for file in self._files.values():
            file.close()
        self._files.clear()
