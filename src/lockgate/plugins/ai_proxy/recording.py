"""What one AI call leaves behind: the ``ai.proxy`` part of the log record and
the call's facts (``ctx.ai_call``) that the usage ledger, the metrics and the
limiting plugins read; for failed calls too, with the prompt they would have cost."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import estimate_anthropic_input_tokens
from lockgate.llm.wire.openai import estimate_openai_input_tokens
from lockgate.llm.wire.responses import estimate_responses_input_tokens
from lockgate.plugins.ai_proxy.target import Target
from lockgate.proxy.context import RequestContext
from lockgate.usage.rows import AICall

if TYPE_CHECKING:
    from lockgate.plugins.ai_proxy.exchange import AttemptFailed, ClientCall

__all__ = ["Recorder", "estimate_prompt", "record_failure"]


def estimate_prompt(call: ClientCall) -> int:
    """The prompt's tokens estimated from the request, worked out once per call
    (a limiter's reservation and the log of a call without usage share it)."""
    if call.prompt_estimate is not None:
        return call.prompt_estimate
    if call.released:
        return call.size_estimate
    if call.client_format == "anthropic":
        found = estimate_anthropic_input_tokens(call.parsed())
    elif call.client_format == "responses":
        found = estimate_responses_input_tokens(call.parsed())
    elif call.client_format == "gemini":
        from lockgate.llm.wire.gemini_client import gemini_to_anthropic_request

        decoded = gemini_to_anthropic_request(call.parsed(), call.requested_model or "")
        found = estimate_anthropic_input_tokens(decoded)
    else:
        found = estimate_openai_input_tokens(call.parsed())
    call.prompt_estimate = found
    return found


def record_failure(
    ctx: RequestContext, target: Target, call: ClientCall, failure: AttemptFailed
) -> None:
    """Failed calls are logged too: which provider and model, and what the request would have cost."""
    prompt = estimate_prompt(call)
    model = target.resolve_model(call.requested_model)
    cost, cost_source = target.cost(Usage(prompt_tokens=prompt), model)
    ctx.ai_call = AICall(
        provider=target.provider_name,
        request_model=model,
        response_model=None,
        prompt_tokens=prompt,
        cost=cost,
        llm_latency_ms=round((time.perf_counter_ns() - ctx.upstream_started_ns) / 1e6)
        if ctx.upstream_started_ns
        else 0,
        mode="stream" if call.stream else "oneshot",
    )
    if not target.logging.log_statistics:
        return
    proxy = ctx.log_extra.setdefault("ai", {}).setdefault("proxy", {})
    proxy["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": 0,
        "total_tokens": prompt,
        "cost": cost,
        "cost_source": cost_source,
        "time_per_token": 0,
        "time_to_first_token": 0,
        "prompt_tokens_details": {},
        "completion_tokens_details": {},
        "estimated": True,
    }
    proxy["meta"] = {
        "plugin_id": target.plugin_id,
        "provider_name": target.provider_name,
        "request_model": target.resolve_model(call.requested_model),
        "response_model": None,
        "llm_latency": round((time.perf_counter_ns() - ctx.upstream_started_ns) / 1e6)
        if ctx.upstream_started_ns
        else 0,
        "request_mode": "stream" if call.stream else "oneshot",
        "error": {
            "criterion": failure.criterion,
            "status": failure.status,
            "message": failure.message,
        },
    }


class Recorder:
    """Collects usage and timings of one successful attempt into the log record."""

    __slots__ = ("call", "ctx", "first_ns", "model", "started", "target")

    def __init__(
        self, ctx: RequestContext, target: Target, call: ClientCall, model: str, started: int
    ) -> None:
        self.ctx = ctx
        self.target = target
        self.call = call
        self.model = model
        self.started = started
        self.first_ns = 0

    def first_token(self) -> None:
        if not self.first_ns:
            self.first_ns = time.perf_counter_ns()

    def finish(
        self, usage: Usage, response_model: str | None, response_body: bytes | None = None
    ) -> None:
        ctx, target, call = self.ctx, self.target, self.call
        now_ns = time.perf_counter_ns()
        ctx.upstream_done_ns = now_ns
        if not usage.reported or not usage.completion_tokens:
            estimate = estimate_prompt(call)
            if not usage.prompt_tokens:
                usage.prompt_tokens = estimate
                usage.estimated = True
            # An embedding has no output tokens: none is made up for it.
            if not usage.completion_tokens and call.operation != "embeddings":
                usage.completion_tokens = 1
                usage.estimated = True
        latency = round((now_ns - self.started) / 1e6)
        ttft = round(((self.first_ns or now_ns) - self.started) / 1e6)
        completion = usage.completion_tokens
        cost, cost_source = target.cost(usage, self.model)
        ctx.ai_call = AICall(
            provider=target.provider_name,
            request_model=self.model,
            response_model=response_model or self.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=completion,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost=cost,
            llm_latency_ms=latency,
            ttft_ms=ttft,
            mode="stream" if call.stream else "oneshot",
        )
        if not target.logging.log_statistics and not target.logging.log_payloads:
            return
        proxy: dict[str, Any] = {}
        if target.logging.log_statistics:
            proxy["usage"] = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": usage.total_tokens,
                "cost": cost,
                "cost_source": cost_source,
                "time_per_token": latency / completion if completion else 0,
                "time_to_first_token": ttft,
                "prompt_tokens_details": {"cached_tokens": usage.cached_tokens}
                if usage.cached_tokens
                else {},
                "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}
                if usage.reasoning_tokens
                else {},
            }
            if usage.estimated:
                proxy["usage"]["estimated"] = True
            proxy["meta"] = {
                "plugin_id": target.plugin_id,
                "provider_name": target.provider_name,
                "request_model": self.model,
                "response_model": response_model or self.model,
                "llm_latency": latency,
                "request_mode": "stream" if call.stream else "oneshot",
            }
        if target.logging.log_payloads:
            proxy["payload"] = {
                "request": call.raw.decode("utf-8", "replace"),
                "response": (response_body or b"").decode("utf-8", "replace"),
            }
        ai = ctx.log_extra.setdefault("ai", {})
        existing = ai.get("proxy", {})
        existing.update(proxy)
        ai["proxy"] = existing
