"""ai-rate-limiting-advanced (Kong priority 905): tokens, cost or prompt
tokens per LLM provider and window, per consumer, consumer group, credential,
header, IP, path or service.

Where lockgate goes beyond Kong: Kong counts a call's tokens once it is
answered, so the call that crosses a limit always goes through, and so does
every call of a parallel burst. Here a call first *reserves* its estimated
prompt (tokens, or its cost at the target's prices) in every window that
applies, atomically in the shared counters, and is refused before the
provider is called when the reservation takes a window past its limit (or
nothing remained). The log phase replaces the reservation with the call's
real usage (``ctx.ai_call``); a call that failed or never reached the
provider releases it. ``requestPrompt`` counts the estimate and stays. The
correction travels with the key's next reservation from this worker (one
counter operation per call instead of two), or after at most
:data:`FLUSH_DELAY` when none comes; reservations are never delayed.

The provider comes from the route's AI proxy (:meth:`AIProxy.plan`; for
ai-proxy-advanced, the target its balancer picks), which parses the request
once for both plugins. Counters: ``local`` (the node's table, shared by its
workers) or ``redis`` (every node). A counter store that cannot be reached
lets traffic through uncounted and says so in the error log at most every few
seconds; a request never waits longer than two Redis timeouts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lockgate.counters import Addition, Counters, CountersUnavailable, WindowCounts
from lockgate.counters.local import LocalCounters
from lockgate.counters.redis import RedisCounters
from lockgate.llm.wire.anthropic import anthropic_error_body
from lockgate.llm.wire.errors import error_type_for_status
from lockgate.llm.wire.openai import openai_error_body
from lockgate.plugins.ai_proxy.plan import PlannedCall, PromptEstimates
from lockgate.plugins.ai_rate_limiting_advanced.schema import (
    CUSTOM_COST,
    REQUEST_PROMPT,
    AIRateLimitingConfig,
)
from lockgate.plugins.ai_rate_limiting_advanced.windows import (
    Window,
    counter_key,
    seconds_text,
    used,
    window_of,
)
from lockgate.plugins.base import PluginHandler
from lockgate.proxy.context import Exit, RequestContext
from lockgate.proxy.worker_env import WorkerEnv
from lockgate.usage.rows import AICall

__all__ = ["AIRateLimitingAdvanced", "counters_of", "namespace_of"]

log = logging.getLogger("lockgate.ai-rate-limiting-advanced")

#: While the counter store is away, say so once per this many seconds, not per request.
OUTAGE_LOG_INTERVAL = 10
#: Seconds a usage correction may wait to travel with the next reservation of its key.
FLUSH_DELAY = 0.05


#: The plugins that answer :meth:`CallPlanner.plan` (the route's AI proxy).
PLANNERS = frozenset(("ai-proxy", "ai-proxy-advanced"))


class CallPlanner(Protocol):
    """What ai-proxy and ai-proxy-advanced answer: the call they are about to make."""

    async def plan(self, ctx: RequestContext) -> PlannedCall | None: ...


class Limit:
    """One limit of one provider entry, with its header names made once."""

    __slots__ = (
        "_window",
        "key_prefix",
        "limit",
        "limit_header",
        "limit_text",
        "provider",
        "remaining_header",
        "size",
    )

    def __init__(self, provider: str, limit: float, size: float, namespace: str) -> None:
        self.provider = provider
        self.limit = limit
        self.size = size
        #: The counter key without who is counted (see :func:`counter_key`).
        self.key_prefix = counter_key(namespace, provider, size, "")
        self.limit_text = _number(limit)
        self.limit_header = f"X-AI-RateLimit-Limit-{self.suffix}"
        self.remaining_header = f"X-AI-RateLimit-Remaining-{self.suffix}"
        self._window = window_of(size, 0.0)

    def window(self, now: float) -> Window:
        """The window ``now`` falls in (made once per window, not per request)."""
        window = self._window
        if not window.starts_at <= now < window.ends_at:
            window = self._window = window_of(self.size, now)
        return window

    @property
    def suffix(self) -> str:
        return f"{seconds_text(self.size)}-{self.provider}"


@dataclass(slots=True)
class Reservation:
    limit: Limit
    key: str
    window: Window
    amount: float


def namespace_of(entity: dict[str, Any], config: AIRateLimitingConfig) -> str:
    """Plugins sharing a namespace share counts (Kong's meaning); by default each its own."""
    return config.namespace or str(entity["id"])


def counters_of(env: WorkerEnv, config: AIRateLimitingConfig) -> Counters:
    if config.strategy == "redis":
        settings = config.redis.settings()
        return env.resource(("counters", settings.identity), lambda: RedisCounters(settings))
    path = env.prefix_path("counters") if env.prefix else None
    return env.resource(("counters", "local"), lambda: LocalCounters(path))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.10g}"


class AIRateLimitingAdvanced(PluginHandler):
    name = "ai-rate-limiting-advanced"
    PRIORITY = 905
    VERSION = "3.13.0"
    Config = AIRateLimitingConfig

    def __init__(
        self, entity: dict[str, Any], config: AIRateLimitingConfig, env: WorkerEnv
    ) -> None:
        super().__init__(entity, config, env)
        self.namespace = namespace_of(entity, config)
        self.limits = [
            Limit(p.name, limit, size, self.namespace)
            for p in config.llm_providers
            for limit, size in zip(p.limit, p.window_size, strict=False)
        ]
        self.counters = counters_of(env, config)
        #: The node's table answers at once: no coroutine per reservation.
        self._table = self.counters if isinstance(self.counters, LocalCounters) else None
        self._sliding = config.window_type == "sliding"
        self._estimates = PromptEstimates()
        self.group_id: str | None = (entity.get("consumer_group") or {}).get("id")
        self._outage_logged = 0.0
        #: Usage corrections not made yet, by (key, window number): [delta, expires_at].
        self._pending: dict[tuple[str, int], list[Any]] = {}
        self._flush: asyncio.TimerHandle | None = None

    @classmethod
    def check(cls, config: Any) -> list[str]:
        problems: list[str] = config.problems()
        return problems

    @classmethod
    def check_scope(cls, config: Any, entity: Mapping[str, Any]) -> list[str]:
        # A consumer may belong to several groups: only the plugin's own scope
        # says which one is counted, so without it there is nothing to count for.
        if config.identifier == "consumer-group" and not entity.get("consumer_group"):
            return [
                "config.identifier: 'consumer-group' counts for the consumer group the plugin "
                "is scoped to, and this plugin is scoped to none; add it to a group "
                "(consumer_groups[].plugins in a decK file, or POST "
                "/consumer_groups/{group}/plugins), or count per consumer with 'consumer'"
            ]
        return []

    def client_error(self, status: int, message: str) -> Exit | None:
        return None

    # --- who is counted -------------------------------------------------------

    def _identifier(self, ctx: RequestContext) -> str:
        config: AIRateLimitingConfig = self.config
        by = config.identifier
        found: str | None = None
        if by == "consumer":
            found = (ctx.consumer or ctx.credential or {}).get("id")
        elif by == "consumer-group":
            # Scoped to a group (check_scope refuses it elsewhere): one count for the group.
            found = self.group_id
        elif by == "credential":
            found = (ctx.credential or {}).get("id")
        elif by == "service":
            found = (ctx.service or {}).get("id")
        elif by == "header":
            found = ctx.request.headers.get(config.header_name or "")
        elif by == "path":
            found = ctx.request.path if ctx.request.path == config.path else None
        return found or ctx.request.remote or ""

    # --- access: reserve or refuse --------------------------------------------

    async def _plan(self, ctx: RequestContext) -> PlannedCall | None:
        for plugin in ctx.plugins:
            # A name check: isinstance against a runtime Protocol costs microseconds per plugin.
            if plugin.name in PLANNERS:
                planner: CallPlanner = plugin  # type: ignore[assignment]
                return await planner.plan(ctx)
        return None

    def _amount(self, limit: Limit, plan: PlannedCall) -> float | None:
        """What the call reserves in ``limit`` (None: the limit does not apply to it)."""
        strategy = self.config.tokens_count_strategy
        if limit.provider == REQUEST_PROMPT:
            return float(self._estimates.tokens(plan))
        if limit.provider == CUSTOM_COST:
            return max(plan.prompt_costs.values(), default=0.0)
        if limit.provider not in plan.providers:
            return None
        if strategy == "cost":
            return plan.prompt_costs[limit.provider]
        if strategy == "completion_tokens":
            return 0.0  # nothing is known of the answer before it is given
        return float(plan.prompt_tokens)

    async def access(self, ctx: RequestContext) -> None:
        config: AIRateLimitingConfig = self.config
        plan = await self._plan(ctx)
        if plan is None:
            return
        now = time.time()
        who = self._identifier(ctx)
        reserved: list[Reservation] = []
        items: list[Addition] = []
        pending = self._pending
        merged: list[tuple[tuple[str, int], list[Any]]] = []
        for limit in self.limits:
            amount = self._amount(limit, plan)
            if amount is None:
                continue
            window = limit.window(now)
            key = limit.key_prefix + who
            reserved.append(Reservation(limit, key, window, amount))
            # The key's last corrections travel with this reservation, under one
            # lock or in one script call: the count it is judged on includes them.
            correction = pending.pop((key, window.id), None) if pending else None
            if correction is None:
                items.append((key, window.id, amount, window.expires_at))
            else:
                merged.append(((key, window.id), correction))
                items.append((key, window.id, amount + correction[0], window.expires_at))
        if not reserved:
            return
        try:
            table = self._table
            if table is not None:
                found = table.add_many_now(items)
            else:
                found = await self.counters.add_many(items)
        except CountersUnavailable as exc:
            for (key, window_id), (delta, expires_at) in merged:
                self._postpone(key, window_id, delta, expires_at)
            self._outage(ctx, exc, now)
            return
        refused: list[tuple[Reservation, float]] = []
        headers: dict[str, str] = {}
        show = not config.hide_client_headers
        sliding = self._sliding
        for r, counts in zip(reserved, found, strict=True):
            limit = r.limit
            total = (
                used(counts, r.window, limit.size, "sliding", now) if sliding else counts.current
            )
            if total > limit.limit or total - r.amount >= limit.limit:
                refused.append((r, total))
            if show:
                headers[limit.limit_header] = limit.limit_text
                headers[limit.remaining_header] = _number(max(0.0, limit.limit - total))
        if refused:
            try:
                await self._take_back(reserved, penalty=not config.disable_penalty)
            except CountersUnavailable as exc:
                self._outage(ctx, exc, now)
            raise self._refusal(plan, refused, headers, now)
        ctx.plugin_state[self.id] = (reserved, headers, who)

    async def _take_back(self, reserved: list[Reservation], *, penalty: bool) -> None:
        sliding = self.config.window_type == "sliding"
        # Kong's penalty: a refused call's prompt still counts for requestPrompt
        # in sliding windows unless disable_penalty; token and cost counts never.
        items = [
            (r.key, r.window.id, -r.amount, r.window.expires_at)
            for r in reserved
            if r.amount and not (penalty and sliding and r.limit.provider == REQUEST_PROMPT)
        ]
        if items:
            await self.counters.add_many(items)

    def _refusal(
        self,
        plan: PlannedCall,
        refused: list[tuple[Reservation, float]],
        headers: dict[str, str],
        now: float,
    ) -> Exit:
        config: AIRateLimitingConfig = self.config
        retry = 1
        for r, total in refused:
            reset = max(1, int(r.window.ends_at - now + 0.999))
            retry = max(retry, reset)
            suffix = r.limit.suffix
            if not config.hide_client_headers:
                headers[f"X-AI-RateLimit-Remaining-{suffix}"] = _number(
                    max(0.0, r.limit.limit - (total - r.amount))
                )
            headers[f"X-AI-RateLimit-Reset-{suffix}"] = str(reset)
            headers[f"X-AI-RateLimit-Retry-After-{suffix}"] = str(reset)
        if config.retry_after_jitter_max:
            retry += int(random.uniform(0, config.retry_after_jitter_max))
        headers["Retry-After"] = str(retry)
        message = config.error_message
        if not config.error_hide_providers:
            message += ", ".join(dict.fromkeys(r.limit.provider for r, _ in refused))
        status = int(config.error_code)
        client = plan.client_format
        if client == "gemini":
            from lockgate.plugins.ai_proxy.gemini_call import gemini_client_error

            refusal = gemini_client_error(status, message)
            refusal.headers.update(headers)
            return refusal
        if client == "anthropic":
            kind = "rate_limit_error" if status == 429 else error_type_for_status(status)
            return Exit(status, anthropic_error_body(kind, message), headers)
        if status == 429 and config.tokens_count_strategy == "cost":
            body = openai_error_body(message, "insufficient_quota", "insufficient_quota")
        elif status == 429:
            body = openai_error_body(message, "tokens", "rate_limit_exceeded")
        else:
            body = openai_error_body(
                message, "invalid_request_error" if status < 500 else "server_error"
            )
        return Exit(status, body, headers)

    def _outage(self, ctx: RequestContext, exc: CountersUnavailable, now: float) -> None:
        if now - self._outage_logged >= OUTAGE_LOG_INTERVAL:
            self._outage_logged = now
            log.error(
                "ai-rate-limiting-advanced: request %s let through without counting "
                "(said at most every %d s): %s",
                ctx.request_id,
                OUTAGE_LOG_INTERVAL,
                exc,
            )

    # --- the answer and the real usage -----------------------------------------

    def header_filter(self, ctx: RequestContext) -> None:
        state = ctx.plugin_state.get(self.id)
        if state and state[1]:
            ctx.response_headers.update(state[1])

    def _real(self, limit: Limit, call: AICall | None) -> float:
        """What the finished call used in ``limit``'s unit (0 when it failed)."""
        if call is None or call.ttft_ms is None:  # failed or never sent: release
            return 0.0
        if limit.provider == CUSTOM_COST:
            return call.cost
        if limit.provider != call.provider:
            return 0.0
        strategy = self.config.tokens_count_strategy
        if strategy == "cost":
            return call.cost
        if strategy == "prompt_tokens":
            return float(call.prompt_tokens)
        if strategy == "completion_tokens":
            return float(call.completion_tokens)
        return float(call.prompt_tokens + call.completion_tokens)

    def log(self, ctx: RequestContext, record: dict[str, Any]) -> None:
        state = ctx.plugin_state.get(self.id)
        if not state:
            return
        now = time.time()
        call = ctx.ai_call
        for r in state[0]:
            if r.limit.provider == REQUEST_PROMPT:
                continue  # what was asked for counts, whatever the answer
            real = self._real(r.limit, call)
            current = r.limit.window(now)
            if current.id == r.window.id:
                if real != r.amount:
                    self._postpone(r.key, current.id, real - r.amount, current.expires_at)
            else:  # answered in a later window: counted there, released where reserved
                if r.amount:
                    self._postpone(r.key, r.window.id, -r.amount, r.window.expires_at)
                if real:
                    self._postpone(r.key, current.id, real, current.expires_at)
        if call is not None and call.ttft_ms is not None:
            # Failed over to another provider than the one reserved on: its
            # limits count what it answered too.
            reserved = {id(r.limit) for r in state[0]}
            for limit in self.limits:
                if limit.provider == call.provider and id(limit) not in reserved:
                    real = self._real(limit, call)
                    if real:
                        window = limit.window(now)
                        self._postpone(
                            limit.key_prefix + state[2], window.id, real, window.expires_at
                        )

    def _postpone(self, key: str, window_id: int, delta: float, expires_at: int) -> None:
        """A correction waits for the next reservation of its key (made by this
        worker), at most :data:`FLUSH_DELAY`: reservations are never delayed, so
        a burst is still held by them; only the usage beyond the estimate is
        counted a moment later."""
        found = self._pending.get((key, window_id))
        if found is None:
            self._pending[(key, window_id)] = [delta, expires_at]
        else:
            found[0] += delta
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_DELAY, self._flush_now)

    def _flush_now(self) -> None:
        self._flush = None
        if not self._pending:
            return
        items = [(k, w, delta, exp) for (k, w), (delta, exp) in self._pending.items() if delta]
        self._pending = {}
        if items:
            self.counters.add_soon(items).add_done_callback(self._corrected)

    def _corrected(self, done: asyncio.Future[list[WindowCounts]]) -> None:
        exc = done.exception() if not done.cancelled() else None
        if exc is None:
            return
        now = time.time()
        if now - self._outage_logged >= OUTAGE_LOG_INTERVAL:
            self._outage_logged = now
            log.error("ai-rate-limiting-advanced: usage corrections were not counted: %s", exc)

    async def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._pending:
            self._flush_now()
