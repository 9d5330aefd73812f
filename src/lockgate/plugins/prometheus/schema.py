"""The prometheus plugin's configuration: Kong's fields and defaults."""

from __future__ import annotations

from pydantic import Field

from lockgate.plugins.base import PluginConfig

__all__ = ["PrometheusConfig"]


class PrometheusConfig(PluginConfig):
    per_consumer: bool = Field(
        False,
        description="Fill the consumer label of kong_http_requests_total, kong_bandwidth_bytes "
        "and the AI metrics with the consumer's username",
    )
    status_code_metrics: bool = Field(False, description="Export kong_http_requests_total")
    ai_metrics: bool = Field(
        False,
        description="Export kong_ai_llm_requests_total, kong_ai_llm_cost_total, "
        "kong_ai_llm_tokens_total and kong_ai_llm_provider_latency_ms (from ai-proxy's "
        "logging.log_statistics)",
    )
    latency_metrics: bool = Field(
        False,
        description="Export kong_kong_latency_ms, kong_upstream_latency_ms and "
        "kong_request_latency_ms",
    )
    bandwidth_metrics: bool = Field(False, description="Export kong_bandwidth_bytes")
    upstream_health_metrics: bool = Field(
        False,
        description="Export kong_upstream_target_health (lockgate has no upstream health "
        "checks yet: accepted, exports nothing)",
    )
    wasm_metrics: bool = Field(False, description="Accepted for Kong compatibility; no effect")
