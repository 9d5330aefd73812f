"""The usage ledger's row for one proxied AI request (columns:
:data:`lockgate.usage.rows.COLUMNS`), built in the log step from the
request and the AI call's facts that ai-proxy left on it."""

from __future__ import annotations

import time
from typing import Any

from lockgate.proxy.context import RequestContext
from lockgate.usage.rows import AICall

__all__ = ["ledger_row"]


def _name(entity: dict[str, Any] | None, *keys: str) -> str | None:
    if not entity:
        return None
    for key in keys:
        value = entity.get(key)
        if value:
            return str(value)
    return None


def ledger_row(ctx: RequestContext, call: AICall) -> tuple[Any, ...]:
    status = ctx.response_status
    if ctx.client_aborted and not status:
        status = 499
    return (
        ctx.started_at,
        ctx.request_id,
        _name(ctx.consumer, "username", "custom_id", "id"),
        _name(ctx.route, "name", "id"),
        _name(ctx.service, "name", "id"),
        call.provider,
        call.request_model,
        call.response_model,
        call.prompt_tokens,
        call.completion_tokens,
        call.cached_tokens,
        call.reasoning_tokens,
        call.cost,
        round((time.perf_counter_ns() - ctx.started_ns) / 1e6),
        call.llm_latency_ms,
        call.ttft_ms,
        status,
        call.mode,
        ctx.request.headers.get("X-Claude-Code-Session-Id"),
    )
