"""ai-proxy-advanced (Kong priority 770): targets, balancing and failover.

Failover happens only before the first byte reaches the client: an attempt
either fails entirely (connection error, timeout, an error status) and the
next target is tried, or its response starts streaming and is final.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from lockgate.llm.providers.config import AuthConfig, ModelConfig
from lockgate.plugins.ai_proxy.credentials import credential_problems, credential_warnings
from lockgate.plugins.ai_proxy.exchange import (
    AttemptFailed,
    ClientCall,
    client_error,
    run_attempt,
    upstream_failure,
)
from lockgate.plugins.ai_proxy.plan import PlannedCall, plan_call
from lockgate.plugins.ai_proxy.recording import record_failure
from lockgate.plugins.ai_proxy.request import models_answer, parse_call
from lockgate.plugins.ai_proxy.schema import (
    LLMFormat,
    LoggingConfig,
    RouteType,
    client_format_for,
    misplaced_options,
    responses_problems,
    unsupported,
)
from lockgate.plugins.ai_proxy.target import Target
from lockgate.plugins.ai_proxy_advanced.balancer import Balancer
from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.proxy.context import Exit, RequestContext, UpstreamResponse
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["AIProxyAdvanced", "AIProxyAdvancedConfig"]

Criterion = Literal[
    "error",
    "timeout",
    "invalid_header",
    "http_403",
    "http_404",
    "http_429",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "non_idempotent",
]


_DEFAULT_CRITERIA: tuple[Criterion, ...] = ("error", "timeout")


class TargetConfig(PluginConfig):
    route_type: RouteType = "llm/v1/chat"
    model: ModelConfig
    auth: AuthConfig | None = None
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    weight: int = Field(100, ge=1, le=65535)
    description: str | None = None


class BalancerConfig(PluginConfig):
    algorithm: Literal[
        "round-robin",
        "lowest-latency",
        "lowest-usage",
        "least-connections",
        "consistent-hashing",
        "priority",
        "semantic",
    ] = "round-robin"
    tokens_count_strategy: Literal["total-tokens", "prompt-tokens", "completion-tokens", "cost"] = (
        "total-tokens"
    )
    latency_strategy: Literal["tpot", "e2e"] = "tpot"
    hash_on_header: str = "X-Kong-LLM-Request-ID"
    slots: int = Field(10000, ge=10, le=65536)
    retries: int = Field(5, ge=0, le=32767)
    failover_criteria: list[Criterion] = Field(default_factory=lambda: list(_DEFAULT_CRITERIA))
    connect_timeout: int = Field(60000, ge=1)
    read_timeout: int = Field(60000, ge=1)
    write_timeout: int = Field(60000, ge=1)
    max_fails: int = Field(0, ge=0)
    fail_timeout: int = Field(10000, ge=1)


class AIProxyAdvancedConfig(PluginConfig):
    targets: list[TargetConfig] = Field(min_length=1)
    balancer: BalancerConfig = Field(default_factory=BalancerConfig)
    llm_format: LLMFormat = "openai"
    max_request_body_size: int = Field(1048576, ge=0)
    model_name_header: bool = True
    response_streaming: Literal["allow", "deny", "always"] = "allow"
    genai_category: str = "text/generation"
    embeddings: dict[str, Any] | None = None
    vectordb: dict[str, Any] | None = None


class Balanced:
    """ctx.upstream for ai-proxy-advanced."""

    __slots__ = ("call", "plugin")

    def __init__(self, plugin: AIProxyAdvanced, call: ClientCall) -> None:
        self.plugin = plugin
        self.call = call

    async def send(self, ctx: RequestContext) -> UpstreamResponse:
        plugin, call = self.plugin, self.call
        cfg = plugin.config.balancer
        order = ctx.plugin_state.pop(plugin._order_key, None) or plugin.order(ctx)
        timeouts = (cfg.connect_timeout / 1000, cfg.read_timeout / 1000)
        attempts = min(len(order), cfg.retries + 1) if order else 0
        last: AttemptFailed | None = None
        failed_target = order[0]
        try:
            for target in order[:attempts]:
                plugin.balancer.started(target)
                started = time.monotonic()
                try:
                    response = await run_attempt(ctx, plugin.env, target, call, timeouts=timeouts)
                except AttemptFailed as failure:
                    last, failed_target = failure, target
                    if failure.criterion not in cfg.failover_criteria:
                        # Like nginx's max_fails, only failures that fail over count
                        # against a target: a client's bad request says nothing of its health.
                        plugin.balancer.released(target)
                        break
                    plugin.balancer.finished(target, ok=False, latency_ms=0, tokens=0)
                    continue
                plugin.balancer.finished(
                    target, ok=True, latency_ms=(time.monotonic() - started) * 1000, tokens=1
                )
                ctx.plugin_state[plugin.id] = target
                return response
        finally:
            proxy = ctx.log_extra.setdefault("ai", {}).setdefault("proxy", {})
            proxy["tried_targets"] = list(call.tried)
        assert last is not None
        record_failure(ctx, failed_target, call, last)
        raise upstream_failure(call, last)


class AIProxyAdvanced(PluginHandler):
    name = "ai-proxy-advanced"
    PRIORITY = 770
    VERSION = "3.13.0"
    Config = AIProxyAdvancedConfig

    def __init__(
        self, entity: dict[str, Any], config: AIProxyAdvancedConfig, env: WorkerEnv
    ) -> None:
        super().__init__(entity, config, env)
        self.client_format = client_format_for(config.llm_format, config.targets[0].route_type)
        self.targets = [
            Target(
                plugin_id=self.id,
                client_format=self.client_format,
                route_type=t.route_type,
                model=t.model,
                auth=t.auth,
                logging=t.logging,
                weight=t.weight,
                description=t.description,
                index=i,
                plugin_name=self.name,
                config_path=f"config.targets[{i}]",
            )
            for i, t in enumerate(config.targets)
        ]
        b = config.balancer
        self.balancer = Balancer(
            self.targets,
            b.algorithm,
            max_fails=b.max_fails,
            fail_timeout_ms=b.fail_timeout,
            hash_header=b.hash_on_header,
        )
        self._parsed_key = f"{self.id}:call"
        self._order_key = f"{self.id}:order"

    @classmethod
    def check(cls, config: Any) -> list[str]:
        problems = unsupported(
            config.llm_format,
            {f"config.targets.{i}.route_type": t.route_type for i, t in enumerate(config.targets)},
        )
        problems.extend(
            responses_problems(
                config.llm_format,
                {
                    f"config.targets.{i}.route_type": t.route_type
                    for i, t in enumerate(config.targets)
                },
            )
        )
        for i, target in enumerate(config.targets):
            problems.extend(credential_problems(target.auth, f"config.targets.{i}.auth"))
        if config.balancer.algorithm == "semantic":
            problems.append(
                "config.balancer.algorithm: 'semantic' is not supported by lockgate yet"
            )
        return problems

    @classmethod
    def warnings(cls, raw: dict[str, Any]) -> list[str]:
        out: list[str] = []
        for i, target in enumerate(raw.get("targets") or []):
            if isinstance(target, dict):
                out.extend(misplaced_options(target, f"config.targets[{i}].model"))
                out.extend(credential_warnings(target, f"config.targets[{i}].auth"))
        return out

    async def _parse(self, ctx: RequestContext) -> ClientCall | None:
        parsed: ClientCall | None = ctx.plugin_state.pop(self._parsed_key, None)
        if parsed is not None:
            return parsed
        config: AIProxyAdvancedConfig = self.config
        return await parse_call(
            ctx,
            self.client_format,
            self.targets[0].route_type,
            config.max_request_body_size,
            config.response_streaming,
        )

    def order(self, ctx: RequestContext) -> list[Target]:
        """The targets in the order this request tries them (the balancer's pick first)."""
        cfg = self.config.balancer
        hash_value = (
            ctx.request.headers.get(cfg.hash_on_header)
            if cfg.algorithm == "consistent-hashing"
            else None
        )
        return self.balancer.order(hash_value)

    async def plan(self, ctx: RequestContext) -> PlannedCall | None:
        """The call this request will make, on the target the balancer picks
        (picked now, and kept for :meth:`Balanced.send`, so that a limiter
        reserves on the provider that will be called); None for a model
        listing. The parsed request is kept for :meth:`access`."""
        call = await self._parse(ctx)
        if call is None:
            return None
        ctx.plugin_state[self._parsed_key] = call
        order = self.order(ctx)
        ctx.plugin_state[self._order_key] = order
        return plan_call(call, order[:1])

    async def access(self, ctx: RequestContext) -> None:
        call = await self._parse(ctx)
        if call is None:
            names = [t.model.model_alias or t.model.name or "*" for t in self.targets]
            raise models_answer(self.client_format, list(dict.fromkeys(names)))
        if len(self.targets) == 1 and self.targets[0].conflicts(call.requested_model):
            raise client_error(
                call.client_format,
                400,
                f"cannot use own model - must be: {self.targets[0].model.name}",
            )
        ctx.upstream = Balanced(self, call)

    def client_error(self, status: int, message: str) -> Exit:
        return client_error(self.client_format, status, message)

    def header_filter(self, ctx: RequestContext) -> None:
        target = ctx.plugin_state.get(self.id)
        if (
            self.config.model_name_header
            and isinstance(target, Target)
            and isinstance(ctx.upstream, Balanced)
        ):
            model = target.resolve_model(ctx.upstream.call.requested_model)
            if model:
                ctx.response_headers["X-Kong-LLM-Model"] = f"{target.provider_name}/{model}"
