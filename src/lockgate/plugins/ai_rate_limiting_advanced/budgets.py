"""Usage so far and what remains, per consumer or consumer group, read from
the counters ai-rate-limiting-advanced keeps (the Admin API's
``/consumers/{consumer}/ai-usage`` and ``/consumer_groups/{group}/ai-usage``).

A consumer's lines: every enabled plugin with ``identifier: consumer`` that
can apply to it (global, on a route or service, on the consumer, or on one
of its groups), counted for the consumer; and every plugin with
``identifier: consumer-group`` scoped to one of its groups, counted for the
whole group (the team's budget the consumer draws on). As in Kong's
precedence, instances on the consumer or its groups hide the others. A group's lines: its
``consumer-group`` plugins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lockgate.config.state import GatewayState
from lockgate.counters import Counters, CountersUnavailable
from lockgate.plugins.ai_rate_limiting_advanced.handler import namespace_of
from lockgate.plugins.ai_rate_limiting_advanced.schema import AIRateLimitingConfig
from lockgate.plugins.ai_rate_limiting_advanced.windows import counter_key, read_used

__all__ = ["consumer_budgets", "group_budgets"]

NAME = "ai-rate-limiting-advanced"
CountersFor = Callable[[AIRateLimitingConfig], Counters]


def _plugins(state: GatewayState) -> list[tuple[dict[str, Any], AIRateLimitingConfig]]:
    out = []
    for entity in state.all("plugins"):
        if entity.get("name") == NAME and entity.get("enabled", True):
            out.append((entity, AIRateLimitingConfig.model_validate(entity.get("config") or {})))
    return out


def _ref(entity: dict[str, Any], field: str) -> str | None:
    value: str | None = (entity.get(field) or {}).get("id")
    return value


async def _lines(
    entity: dict[str, Any],
    config: AIRateLimitingConfig,
    who: str,
    counted_for: dict[str, str],
    counters_for: CountersFor,
    now: float,
) -> list[dict[str, Any]]:
    unit = config.tokens_count_strategy
    scope = {f: _ref(entity, f) for f in ("route", "service", "consumer", "consumer_group")}
    out: list[dict[str, Any]] = []
    counters = counters_for(config)
    for provider in config.llm_providers:
        for limit, size in zip(provider.limit, provider.window_size, strict=False):
            line: dict[str, Any] = {
                "plugin_id": entity["id"],
                "scope": {k: v for k, v in scope.items() if v},
                "counted_for": counted_for,
                "provider": provider.name,
                "unit": "cost"
                if provider.name == "customCost"
                else ("prompt_tokens" if provider.name == "requestPrompt" else unit),
                "window_size": int(size) if float(size).is_integer() else size,
                "window_type": config.window_type,
                "strategy": config.strategy,
                "limit": limit,
            }
            key = counter_key(namespace_of(entity, config), provider.name, size, who)
            try:
                used, window = await read_used(counters, key, size, config.window_type, now)
            except CountersUnavailable as exc:
                line["error"] = f"the counters cannot be read: {exc}"
            else:
                line["used"] = round(used, 6)
                line["remaining"] = round(max(0.0, limit - used), 6)
                line["window_ends_at"] = int(window.ends_at)
            out.append(line)
    return out


async def consumer_budgets(
    state: GatewayState, consumer: dict[str, Any], counters_for: CountersFor
) -> list[dict[str, Any]]:
    now = time.time()
    groups = {g["id"]: g for g in state.groups_of(consumer["id"])}
    mine = {"consumer": consumer.get("username") or consumer["id"]}
    out: list[dict[str, Any]] = []
    applying = []
    for entity, config in _plugins(state):
        on_consumer, on_group = _ref(entity, "consumer"), _ref(entity, "consumer_group")
        if on_consumer and on_consumer != consumer["id"]:
            continue
        if on_group and on_group not in groups:
            continue
        applying.append((entity, config, on_consumer, on_group))
    # Kong runs one instance of a plugin per request, the most specific: one on
    # the consumer or its group always wins over those on routes, services or
    # global, which therefore never count this consumer.
    if any(c or g for _, _, c, g in applying):
        applying = [a for a in applying if a[2] or a[3]]
    for entity, config, _, on_group in applying:
        if config.identifier == "consumer":
            out += await _lines(entity, config, consumer["id"], mine, counters_for, now)
        elif config.identifier == "consumer-group" and on_group:
            team = {"consumer_group": groups[on_group].get("name") or on_group}
            out += await _lines(entity, config, on_group, team, counters_for, now)
    return out


async def group_budgets(
    state: GatewayState, group: dict[str, Any], counters_for: CountersFor
) -> list[dict[str, Any]]:
    now = time.time()
    team = {"consumer_group": group.get("name") or group["id"]}
    out: list[dict[str, Any]] = []
    for entity, config in _plugins(state):
        if config.identifier == "consumer-group" and _ref(entity, "consumer_group") == group["id"]:
            out += await _lines(entity, config, group["id"], team, counters_for, now)
    return out
