"""rate-limiting (Kong priority 910): requests per second, minute, hour, day,
month or year, per consumer, credential, IP, service, header or path.

Counting is exact: each request adds itself to every configured period first
and is refused if that takes a count past its limit (the addition is then
taken back, so refused requests do not use up the next window). Kong checks
first and adds afterwards, so concurrent requests can all pass the check.
Counts are one per node (``policy: local``, shared by all its workers) or one
for every node (``policy: redis``); ``sync_rate`` is accepted as Kong's, and
every addition reaches the store synchronously.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from pydantic import Field, model_validator

from lockgate.counters import Counters, CountersUnavailable
from lockgate.counters.local import LocalCounters
from lockgate.counters.redis import RedisCounters, RedisSettings
from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.plugins.rate_limiting.windows import PERIODS, Window, window_of
from lockgate.proxy.context import Exit, RequestContext
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["RateLimiting", "RateLimitingConfig", "RedisConfig", "counters_for"]

log = logging.getLogger("lockgate.rate-limiting")

#: While the counter store is away, say so once per this many seconds, not per request.
OUTAGE_LOG_INTERVAL = 10
_LIMIT_HEADER = {p: f"X-RateLimit-Limit-{p.capitalize()}" for p in PERIODS}
_REMAINING_HEADER = {p: f"X-RateLimit-Remaining-{p.capitalize()}" for p in PERIODS}


class RedisConfig(PluginConfig):
    """Kong's shared ``redis`` block."""

    host: str | None = None
    port: int = Field(6379, ge=0, le=65535)
    timeout: int = Field(2000, ge=0, le=2147483646)
    username: str | None = None
    password: str | None = None
    database: int = 0
    ssl: bool = False
    ssl_verify: bool = False
    server_name: str | None = None

    def settings(self) -> RedisSettings:
        assert self.host is not None
        return RedisSettings(
            host=self.host,
            port=self.port,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
            database=self.database,
            ssl=self.ssl,
            ssl_verify=self.ssl_verify,
            server_name=self.server_name,
        )


#: Kong's deprecated flat names for the redis block's fields (still accepted).
_REDIS_SHORTHANDS = {
    "redis_host": "host",
    "redis_port": "port",
    "redis_password": "password",
    "redis_username": "username",
    "redis_ssl": "ssl",
    "redis_ssl_verify": "ssl_verify",
    "redis_server_name": "server_name",
    "redis_timeout": "timeout",
    "redis_database": "database",
}


class RateLimitingConfig(PluginConfig):
    second: float | None = Field(None, gt=0)
    minute: float | None = Field(None, gt=0)
    hour: float | None = Field(None, gt=0)
    day: float | None = Field(None, gt=0)
    month: float | None = Field(None, gt=0)
    year: float | None = Field(None, gt=0)
    limit_by: Literal["consumer", "credential", "ip", "service", "header", "path"] = "consumer"
    header_name: str | None = None
    path: str | None = None
    policy: Literal["local", "cluster", "redis"] = "local"
    fault_tolerant: bool = True
    redis: RedisConfig = Field(default_factory=RedisConfig)
    hide_client_headers: bool = False
    error_code: float = Field(429, gt=0)
    error_message: str = "API rate limit exceeded"
    sync_rate: float = -1

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in _REDIS_SHORTHANDS):
            data = dict(data)
            redis = dict(data.get("redis") or {})
            for old, new in _REDIS_SHORTHANDS.items():
                if old in data:
                    value = data.pop(old)
                    if value is not None:
                        redis.setdefault(new, value)
            data["redis"] = redis
        return data

    def limits(self) -> dict[str, float]:
        return {p: getattr(self, p) for p in PERIODS if getattr(self, p) is not None}


def counters_for(env: WorkerEnv, policy: str, redis: RedisConfig) -> Counters:
    """The node's shared table, or one Redis client per server for the worker."""
    if policy == "redis":
        settings = redis.settings()
        return env.resource(("counters", settings.identity), lambda: RedisCounters(settings))
    path = env.prefix_path("counters") if env.prefix else None
    return env.resource(("counters", "local"), lambda: LocalCounters(path))


class RateLimiting(PluginHandler):
    name = "rate-limiting"
    PRIORITY = 910
    VERSION = "3.13.0"
    Config = RateLimitingConfig

    def __init__(self, entity: dict[str, Any], config: RateLimitingConfig, env: WorkerEnv) -> None:
        super().__init__(entity, config, env)
        self.limits = config.limits()
        self.counters = counters_for(env, config.policy, config.redis)
        self._outage_logged = 0.0

    @classmethod
    def check(cls, config: Any) -> list[str]:
        problems = []
        limits = config.limits()
        if not limits:
            problems.append(
                "config: at least one of these fields must be non-empty: "
                "'config.second', 'config.minute', 'config.hour', 'config.day', "
                "'config.month', 'config.year'"
            )
        ordered = [(p, limits[p]) for p in PERIODS if p in limits]
        for i, (lower, low) in enumerate(ordered):
            for upper, high in ordered[i + 1 :]:
                if high < low:
                    problems.append(
                        f"config: The limit for {upper}({high:.1f}) cannot be lower than "
                        f"the limit for {lower}({low:.1f})"
                    )
        if config.policy == "cluster":
            problems.append(
                "config.policy: 'cluster' counts in Kong's database, which lockgate does not "
                "have; use 'local' (one count per node) or 'redis' (one count for all nodes)"
            )
        if config.policy == "redis" and not config.redis.host:
            problems.append("config.redis.host: required field missing (policy is redis)")
        if config.policy != "redis" and config.sync_rate != -1:
            problems.append("config.sync_rate: can only be used with the redis policy")
        if config.policy == "redis" and config.sync_rate != -1 and config.sync_rate < 0.02:
            problems.append("config.sync_rate: must be greater than 0.02, or -1 to disable")
        if config.limit_by == "header" and not config.header_name:
            problems.append("config.header_name: required when limit_by is header")
        if config.limit_by == "path" and not config.path:
            problems.append("config.path: required when limit_by is path")
        return problems

    def _identifier(self, ctx: RequestContext) -> str:
        config: RateLimitingConfig = self.config
        by = config.limit_by
        found: str | None = None
        if by == "consumer":
            found = (ctx.consumer or ctx.credential or {}).get("id")
        elif by == "credential":
            found = (ctx.credential or {}).get("id")
        elif by == "service":
            found = (ctx.service or {}).get("id")
        elif by == "header":
            found = ctx.request.headers.get(config.header_name or "")
        elif by == "path":
            found = ctx.request.path if ctx.request.path == config.path else None
        return found or ctx.request.remote or ""

    async def access(self, ctx: RequestContext) -> None:
        config: RateLimitingConfig = self.config
        now = time.time()
        who = self._identifier(ctx)
        counted: list[tuple[str, float, float, str, Window]] = []  # period, limit, count, key
        try:
            for period, limit in self.limits.items():
                window = window_of(period, now)
                key = f"rl:{self.id}:{period}:{who}"
                counts = await self.counters.add(key, window.id, 1.0, window.expires_at)
                counted.append((period, limit, counts.current, key, window))
            refused = any(count > limit for _, limit, count, _, _ in counted)
            if refused:  # take the request back out: refusals use up nothing
                for _, _, _, key, window in counted:
                    await self.counters.add(key, window.id, -1.0, window.expires_at)
        except CountersUnavailable as exc:
            if not config.fault_tolerant:
                log.error("rate-limiting: request %s: %s", ctx.request_id, exc)
                raise Exit(500, {"message": "An unexpected error occurred"}) from exc
            if now - self._outage_logged >= OUTAGE_LOG_INTERVAL:
                self._outage_logged = now
                log.error(
                    "rate-limiting: request %s let through without counting "
                    "(fault_tolerant; said at most every %d s): %s",
                    ctx.request_id,
                    OUTAGE_LOG_INTERVAL,
                    exc,
                )
            return
        headers: dict[str, str] = {}
        if not config.hide_client_headers:
            tightest: tuple[float, float, int] | None = None  # remaining, limit, reset
            for period, limit, count, _, window in counted:
                used = count if not refused or count > limit else count - 1
                remaining = max(0.0, limit - used)
                headers[_LIMIT_HEADER[period]] = _number(limit)
                headers[_REMAINING_HEADER[period]] = _number(remaining)
                # RateLimit-* name the tightest period: least remaining, and of
                # equals the longest window (periods run from second to year).
                if tightest is None or remaining <= tightest[0]:
                    tightest = (remaining, limit, max(1, window.ends_at - int(now)))
            if tightest is not None:
                headers["RateLimit-Limit"] = _number(tightest[1])
                headers["RateLimit-Remaining"] = _number(tightest[0])
                headers["RateLimit-Reset"] = str(tightest[2])
                if refused:
                    headers["Retry-After"] = str(tightest[2])
        if refused:
            raise Exit(int(config.error_code), {"message": config.error_message}, headers)
        if headers:
            ctx.plugin_state[self.id] = headers

    def header_filter(self, ctx: RequestContext) -> None:
        headers = ctx.plugin_state.get(self.id)
        if headers:
            ctx.response_headers.update(headers)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
