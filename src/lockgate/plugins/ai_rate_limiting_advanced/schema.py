"""ai-rate-limiting-advanced's configuration: Kong 3.13's fields, and which of
them lockgate refuses (with the reason) rather than ignores."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lockgate.counters.redis import RedisSettings
from lockgate.llm.providers import provider_names
from lockgate.plugins.ai_proxy.schema import LLMFormat
from lockgate.plugins.base import PluginConfig

__all__ = ["AIRateLimitingConfig", "AIRedisConfig", "ProviderLimits"]

#: Kong's names for llm_providers[].name; lockgate's own provider names are accepted too.
KONG_PROVIDERS = (
    "anthropic",
    "azure",
    "bedrock",
    "cohere",
    "customCost",
    "gemini",
    "huggingface",
    "llama2",
    "mistral",
    "openai",
    "requestPrompt",
)
#: Counts the request's estimated prompt tokens, whatever the provider.
REQUEST_PROMPT = "requestPrompt"
#: Counts the call's cost in dollars, whatever the provider.
CUSTOM_COST = "customCost"


class ProviderLimits(PluginConfig):
    name: str
    limit: list[float] = Field(min_length=1)
    window_size: list[float] = Field(min_length=1)


class SentinelNode(PluginConfig):
    host: str = "127.0.0.1"
    port: int = Field(6379, ge=0, le=65535)


class ClusterNode(PluginConfig):
    ip: str = "127.0.0.1"
    port: int = Field(6379, ge=0, le=65535)


class AIRedisConfig(PluginConfig):
    """Kong's ``redis`` block of the advanced limiting plugins."""

    host: str = "127.0.0.1"
    port: int = Field(6379, ge=0, le=65535)
    connect_timeout: int = Field(2000, ge=0, le=2147483646)
    send_timeout: int = Field(2000, ge=0, le=2147483646)
    read_timeout: int = Field(2000, ge=0, le=2147483646)
    username: str | None = None
    password: str | None = None
    database: int = 0
    ssl: bool = False
    ssl_verify: bool = False
    server_name: str | None = None
    keepalive_pool_size: int = Field(256, ge=1, le=2147483646)
    keepalive_backlog: int | None = Field(None, ge=0, le=2147483646)
    connection_is_proxied: bool = False
    sentinel_master: str | None = None
    sentinel_role: Literal["any", "master", "slave"] | None = None
    sentinel_nodes: list[SentinelNode] | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    cluster_nodes: list[ClusterNode] | None = None
    cluster_max_redirections: int = 5
    cloud_authentication: dict[str, Any] | None = None

    def settings(self) -> RedisSettings:
        # One deadline for every step: a request waits at most the longest of Kong's three.
        return RedisSettings(
            host=self.host,
            port=self.port,
            timeout=max(self.connect_timeout, self.send_timeout, self.read_timeout),
            username=self.username,
            password=self.password,
            database=self.database,
            ssl=self.ssl,
            ssl_verify=self.ssl_verify,
            server_name=self.server_name,
        )

    def problems(self) -> list[str]:
        out = []
        if self.sentinel_master or self.sentinel_role or self.sentinel_nodes:
            out.append(
                "config.redis.sentinel_master: Redis Sentinel is not supported by lockgate; "
                "give the master's host and port"
            )
        if self.cluster_nodes:
            out.append(
                "config.redis.cluster_nodes: Redis Cluster is not supported by lockgate; "
                "give one server's host and port"
            )
        if self.cloud_authentication and self.cloud_authentication.get("auth_provider"):
            out.append(
                "config.redis.cloud_authentication: cloud identity for Redis is not supported "
                "by lockgate; use username and password"
            )
        return out


class AIRateLimitingConfig(PluginConfig):
    llm_providers: list[ProviderLimits] = Field(min_length=1)
    tokens_count_strategy: Literal["total_tokens", "prompt_tokens", "completion_tokens", "cost"] = (
        "total_tokens"
    )
    window_type: Literal["sliding", "fixed"] = "sliding"
    identifier: Literal[
        "consumer", "consumer-group", "credential", "header", "ip", "path", "service"
    ] = "consumer"
    header_name: str | None = None
    path: str | None = None
    strategy: Literal["local", "cluster", "redis"] = "local"
    sync_rate: float | None = None
    redis: AIRedisConfig = Field(default_factory=AIRedisConfig)
    dictionary_name: str = "kong_rate_limiting_counters"
    namespace: str | None = None
    error_code: float = Field(429, gt=0)
    error_message: str = "AI token rate limit exceeded for provider(s): "
    error_hide_providers: bool = False
    hide_client_headers: bool = False
    retry_after_jitter_max: float = Field(0, ge=0)
    disable_penalty: bool = False
    decrease_by_fractions_in_redis: bool = False
    llm_format: LLMFormat = "openai"
    request_prompt_count_function: str | None = None
    custom_cost_count_function: str | None = None

    def problems(self) -> list[str]:
        out: list[str] = []
        known = set(KONG_PROVIDERS) | set(provider_names())
        seen: set[str] = set()
        for i, item in enumerate(self.llm_providers):
            where = f"config.llm_providers.{i}"
            if item.name not in known:
                out.append(f"{where}.name: expected one of: {', '.join(sorted(known))}")
            if item.name in seen:
                out.append(f"{where}.name: '{item.name}' is listed twice")
            seen.add(item.name)
            if len(item.limit) != len(item.window_size):
                out.append(f"{where}: You must provide the same number of windows and limits")
            if any(v <= 0 for v in item.limit):
                out.append(f"{where}.limit: every limit must be greater than 0")
            if any(v <= 0 for v in item.window_size):
                out.append(f"{where}.window_size: every window must be greater than 0 seconds")
        if self.strategy == "cluster":
            out.append(
                "config.strategy: 'cluster' counts in Kong's database, which lockgate does not "
                "have; use 'local' (one count per node) or 'redis' (one count for all nodes)"
            )
        if self.strategy == "redis":
            out.extend(self.redis.problems())
        if self.sync_rate is not None and self.sync_rate not in (-1, 0) and self.sync_rate < 0.02:
            out.append("config.sync_rate: must be greater than 0.02, or -1 or 0")
        if self.identifier == "header" and not self.header_name:
            out.append("config.header_name: required when identifier is header")
        if self.identifier == "path" and not self.path:
            out.append("config.path: required when identifier is path")
        if self.request_prompt_count_function:
            out.append(
                "config.request_prompt_count_function: custom Lua counting is not supported by "
                "lockgate; requestPrompt counts the request's estimated prompt tokens"
            )
        if self.custom_cost_count_function:
            out.append(
                "config.custom_cost_count_function: custom Lua counting is not supported by "
                "lockgate; customCost counts each call's cost in dollars"
            )
        return out
