"""ai-proxy (Kong priority 770): one configured model behind a route.

In ``access`` it reads the client's request and takes over the upstream
step (``ctx.upstream``); the exchange module does the call and translation.
"""

from __future__ import annotations

from typing import Any

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
    AIProxyConfig,
    client_format_for,
    misplaced_options,
    responses_problems,
    unsupported,
)
from lockgate.plugins.ai_proxy.target import Target
from lockgate.plugins.base import PluginHandler
from lockgate.proxy.context import Exit, RequestContext, UpstreamResponse
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["AIProxy", "SingleTarget"]


class SingleTarget:
    """ctx.upstream for ai-proxy: one attempt, failures answered in the client's format."""

    __slots__ = ("call", "env", "target")

    def __init__(self, env: WorkerEnv, target: Target, call: ClientCall) -> None:
        self.env = env
        self.target = target
        self.call = call

    async def send(self, ctx: RequestContext) -> UpstreamResponse:
        try:
            return await run_attempt(ctx, self.env, self.target, self.call)
        except AttemptFailed as failure:
            record_failure(ctx, self.target, self.call, failure)
            raise upstream_failure(self.call, failure) from failure


class AIProxy(PluginHandler):
    name = "ai-proxy"
    PRIORITY = 770
    VERSION = "3.13.0"
    Config = AIProxyConfig
    needs_body = False  # read in access, with this plugin's own size limit

    def __init__(self, entity: dict[str, Any], config: AIProxyConfig, env: WorkerEnv) -> None:
        super().__init__(entity, config, env)
        self.client_format = client_format_for(config.llm_format, config.route_type)
        self.target = Target(
            plugin_id=self.id,
            client_format=self.client_format,
            route_type=config.route_type,
            model=config.model,
            auth=config.auth,
            logging=config.logging,
        )
        self._parsed_key = f"{self.id}:call"

    @classmethod
    def check(cls, config: Any) -> list[str]:
        problems = unsupported(config.llm_format, {"config.route_type": config.route_type})
        problems.extend(credential_problems(config.auth, "config.auth"))
        problems.extend(
            responses_problems(config.llm_format, {"config.route_type": config.route_type})
        )
        if config.route_type == "llm/v1/embeddings" and config.llm_format != "openai":
            problems.append("config.route_type: llm/v1/embeddings needs llm_format 'openai'")
        return problems

    @classmethod
    def warnings(cls, raw: dict[str, Any]) -> list[str]:
        return misplaced_options(raw) + credential_warnings(raw, "config.auth")

    async def _parse(self, ctx: RequestContext) -> ClientCall | None:
        parsed: ClientCall | None = ctx.plugin_state.pop(self._parsed_key, None)
        if parsed is not None:
            return parsed
        config: AIProxyConfig = self.config
        return await parse_call(
            ctx,
            self.client_format,
            config.route_type,
            config.max_request_body_size,
            config.response_streaming,
        )

    async def plan(self, ctx: RequestContext) -> PlannedCall | None:
        """The call this request will make (None for a model listing), for a
        limiter that runs before this plugin; the parsed request is kept for
        :meth:`access`."""
        call = await self._parse(ctx)
        if call is None:
            return None
        ctx.plugin_state[self._parsed_key] = call
        return plan_call(call, [self.target])

    async def access(self, ctx: RequestContext) -> None:
        call = await self._parse(ctx)
        if call is None:
            raise models_answer(
                self.client_format, [self.target.model.model_alias or self.target.model.name or "*"]
            )
        if self.target.conflicts(call.requested_model):
            raise client_error(
                call.client_format, 400, f"cannot use own model - must be: {self.target.model.name}"
            )
        ctx.upstream = SingleTarget(self.env, self.target, call)

    def client_error(self, status: int, message: str) -> Exit:
        return client_error(self.client_format, status, message)

    def header_filter(self, ctx: RequestContext) -> None:
        if (
            self.config.model_name_header
            and ctx.upstream is not None
            and isinstance(ctx.upstream, SingleTarget)
        ):
            call = ctx.upstream.call
            model = self.target.resolve_model(call.requested_model)
            if model:
                ctx.response_headers["X-Kong-LLM-Model"] = f"{self.target.provider_name}/{model}"
