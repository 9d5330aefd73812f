"""Budgets: what ai-rate-limiting-advanced has counted and what remains
(lockgate's own endpoints; Kong has none):

- ``GET /consumers/{consumer}/ai-usage``: the consumer's limits and budgets,
  its own and its groups';
- ``GET /consumer_groups/{group}/ai-usage``: the group's shared ones.

Each line names the plugin, who is counted, the provider, the window, the
unit (tokens or cost in dollars), ``limit``, ``used`` and ``remaining``, and
when the window ends. Counts come from where the proxy keeps them: the
node's table (``<prefix>/counters``, strategy ``local``) or Redis; a store
that cannot be read gives the line an ``error`` instead of numbers.
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from lockgate.admin.live_state import LiveState
from lockgate.admin.responses import AdminError, json_response
from lockgate.counters import Counters
from lockgate.counters.local import LocalCounters
from lockgate.counters.redis import RedisCounters
from lockgate.plugins.ai_rate_limiting_advanced.budgets import consumer_budgets, group_budgets
from lockgate.plugins.ai_rate_limiting_advanced.schema import AIRateLimitingConfig

__all__ = ["add_budget_routes"]


def add_budget_routes(app: web.Application, live: LiveState, prefix: str | None) -> None:
    opened: dict[str, Counters] = {}

    def counters_for(config: AIRateLimitingConfig) -> Counters:
        if config.strategy == "redis":
            settings = config.redis.settings()
            key = "redis:" + settings.identity
            if key not in opened:
                opened[key] = RedisCounters(settings)
            return opened[key]
        if "local" not in opened:
            path = os.path.join(prefix, "counters") if prefix else None
            opened["local"] = LocalCounters(path)
        return opened["local"]

    async def consumer_usage(request: web.Request) -> web.Response:
        state = await live.read()
        ident = request.match_info["consumer"]
        consumer = state.find("consumers", ident)
        if consumer is None:
            raise AdminError(404, {"message": f"Consumer '{ident}' not found"})
        data = await consumer_budgets(state, consumer, counters_for)
        body: dict[str, Any] = {
            "consumer": {"id": consumer["id"], "username": consumer.get("username")},
            "data": data,
        }
        return json_response(body)

    async def group_usage(request: web.Request) -> web.Response:
        state = await live.read()
        ident = request.match_info["group"]
        group = state.find("consumer_groups", ident)
        if group is None:
            raise AdminError(404, {"message": f"Group '{ident}' not found"})
        data = await group_budgets(state, group, counters_for)
        return json_response(
            {"consumer_group": {"id": group["id"], "name": group.get("name")}, "data": data}
        )

    async def close(_: web.Application) -> None:
        for counters in opened.values():
            await counters.close()

    app.on_cleanup.append(close)
    app.router.add_get("/consumers/{consumer}/ai-usage", consumer_usage, allow_head=False)
    app.router.add_get("/consumer_groups/{group}/ai-usage", group_usage, allow_head=False)
