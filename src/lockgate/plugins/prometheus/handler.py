"""prometheus (Kong priority 13): counts each request into Kong's metric
families in the log phase, from the same log record file-log writes, so the
metrics and the log agree.

Which families are counted follows the config switches (Kong's): status
codes, latencies, bandwidth, and the AI families from the record's ``ai``
part (present when ai-proxy's ``logging.log_statistics`` is on). The
``consumer`` label holds the consumer's username with ``per_consumer`` and
is empty otherwise; ``workspace`` is ``default``; the AI families' cache and
embeddings labels are empty (lockgate has no semantic cache).
"""

from __future__ import annotations

from typing import Any

from lockgate.plugins.base import PluginHandler
from lockgate.plugins.prometheus.exposition import metrics_dir
from lockgate.plugins.prometheus.metrics import KongMetrics
from lockgate.plugins.prometheus.schema import PrometheusConfig
from lockgate.proxy.context import RequestContext
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["Prometheus"]

WORKSPACE = "default"
_TOKEN_TYPES = ("prompt_tokens", "completion_tokens", "total_tokens")


class Prometheus(PluginHandler):
    name = "prometheus"
    PRIORITY = 13
    VERSION = "3.13.0"
    Config = PrometheusConfig

    def __init__(self, entity: dict[str, Any], config: PrometheusConfig, env: WorkerEnv) -> None:
        super().__init__(entity, config, env)
        # The node's value files live in its prefix (a worker without one counts in memory).
        directory = metrics_dir(env.prefix) if env.prefix else None
        self.metrics = env.resource(("prometheus", "metrics"), lambda: KongMetrics(directory))

    def log(self, ctx: RequestContext, record: dict[str, Any]) -> None:
        config: PrometheusConfig = self.config
        metrics = self.metrics
        route = record.get("route")
        if not route:
            return
        route_name = str(route.get("name") or route.get("id") or "")
        service = record.get("service") or {}
        service_name = str(service.get("name") or service.get("host") or "")
        consumer = ""
        if config.per_consumer:
            consumer = str((record.get("consumer") or {}).get("username") or "")
        if config.bandwidth_metrics:
            for direction, size in (
                ("ingress", record["request"].get("size")),
                ("egress", record["response"].get("size")),
            ):
                if size:
                    metrics.inc(
                        "kong_bandwidth_bytes",
                        (service_name, route_name, direction, WORKSPACE, consumer),
                        size,
                    )
        if config.status_code_metrics:
            source = "service" if record.get("source") == "upstream" else "kong"
            metrics.inc(
                "kong_http_requests_total",
                (
                    service_name,
                    route_name,
                    str(record["response"]["status"]),
                    source,
                    WORKSPACE,
                    consumer,
                ),
            )
        if config.latency_metrics:
            labels = (service_name, route_name, WORKSPACE)
            latencies = record["latencies"]
            metrics.observe("kong_request_latency_ms", labels, latencies["request"])
            if record.get("source") == "upstream":
                metrics.observe("kong_upstream_latency_ms", labels, latencies["proxy"])
            metrics.observe("kong_kong_latency_ms", labels, latencies["kong"])
        if config.ai_metrics and record.get("ai"):
            self._ai(record["ai"], consumer)

    def _ai(self, ai: dict[str, Any], consumer: str) -> None:
        metrics = self.metrics
        for use in ai.values():
            if not isinstance(use, dict):
                continue
            meta = use.get("meta") or {}
            usage = use.get("usage") or {}
            provider = str(meta.get("provider_name") or "")
            model = str(meta.get("request_model") or "")
            mode = str(meta.get("request_mode") or "")
            labels = (provider, model, "", "", "", "", WORKSPACE, consumer, mode)
            metrics.inc("kong_ai_llm_requests_total", labels)
            cost = usage.get("cost") or 0
            if cost > 0:
                metrics.inc("kong_ai_llm_cost_total", labels, cost)
            latency = meta.get("llm_latency")
            if latency is not None and latency >= 0:
                metrics.observe("kong_ai_llm_provider_latency_ms", labels, latency)
            for token_type in _TOKEN_TYPES:
                count = usage.get(token_type) or 0
                if count > 0:
                    metrics.inc(
                        "kong_ai_llm_tokens_total",
                        (provider, model, "", "", "", "", token_type, WORKSPACE, consumer, mode),
                        count,
                    )
