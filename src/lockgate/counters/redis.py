"""Counters shared by every node, in one Redis server (redis-py's asyncio client).

One script call per addition: add to this window's key, set its expiry, read
the previous window's key, atomically on the server. A server that cannot be
reached, or does not answer within the configured timeout, raises
:class:`~lockgate.counters.CountersUnavailable`; nothing waits longer than
that timeout, so a Redis outage never hangs a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from lockgate.counters import Addition, CountersUnavailable, WindowCounts

__all__ = ["RedisCounters", "RedisSettings"]

#: KEYS: (this window, the previous one) per addition; ARGV: (amount, expires_at) per addition.
_ADD_MANY = """
local out = {}
for i = 1, #KEYS, 2 do
  local current = redis.call('INCRBYFLOAT', KEYS[i], ARGV[i])
  redis.call('EXPIREAT', KEYS[i], ARGV[i + 1])
  out[#out + 1] = current
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or '0'
end
return out
"""

_ADD = """
local current = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
local previous = redis.call('GET', KEYS[2])
return {current, previous or '0'}
"""


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Kong's ``redis`` block (host, port, timeout in ms, username, password,
    database, ssl, ssl_verify, server_name)."""

    host: str
    port: int = 6379
    timeout: int = 2000
    username: str | None = None
    password: str | None = None
    database: int = 0
    ssl: bool = False
    ssl_verify: bool = False
    server_name: str | None = None

    @property
    def identity(self) -> str:
        """Which server and database, for sharing one client (no credentials in it)."""
        return f"{self.host}:{self.port}/{self.database}{'+tls' if self.ssl else ''}"


class RedisCounters:
    def __init__(self, settings: RedisSettings, namespace: str = "lockgate") -> None:
        seconds = settings.timeout / 1000
        kwargs: dict[str, Any] = {}
        if settings.ssl:
            kwargs = {
                "ssl": True,
                "ssl_cert_reqs": "required" if settings.ssl_verify else "none",
                "ssl_check_hostname": bool(settings.ssl_verify and settings.server_name),
            }
        self._client = aioredis.Redis(
            host=settings.host,
            port=settings.port,
            db=settings.database,
            username=settings.username,
            password=settings.password,
            socket_timeout=seconds,
            socket_connect_timeout=seconds,
            # One try: a request waits at most one timeout, never a retry schedule.
            retry=Retry(NoBackoff(), 0),
            **kwargs,
        )
        self._script = self._client.register_script(_ADD)
        self._many = self._client.register_script(_ADD_MANY)
        self._namespace = namespace
        self._where = settings.identity

    async def add(self, key: str, window_id: int, amount: float, expires_at: int) -> WindowCounts:
        base = f"{self._namespace}:{key}:"
        try:
            current, previous = await self._script(
                keys=[base + str(window_id), base + str(window_id - 1)],
                args=[repr(float(amount)), expires_at],
            )
        except (RedisError, OSError) as exc:
            raise CountersUnavailable(
                f"Redis at {self._where}: {type(exc).__name__}: {_reason(exc)}"
            ) from exc
        return WindowCounts(float(current), float(previous))

    async def add_many(self, items: Sequence[Addition]) -> list[WindowCounts]:
        keys: list[str] = []
        args: list[str | int] = []
        for key, window_id, amount, expires_at in items:
            base = f"{self._namespace}:{key}:"
            keys += [base + str(window_id), base + str(window_id - 1)]
            args += [repr(float(amount)), expires_at]
        try:
            found = await self._many(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise CountersUnavailable(
                f"Redis at {self._where}: {type(exc).__name__}: {_reason(exc)}"
            ) from exc
        return [WindowCounts(float(found[i]), float(found[i + 1])) for i in range(0, len(found), 2)]

    async def close(self) -> None:
        await self._client.aclose()


def _reason(exc: BaseException) -> str:
    # redis-py's messages name host and port, never the password; keep them short.
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
