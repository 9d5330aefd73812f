"""Counters shared by every node, in one Redis server (redis-py's asyncio client).

A script adds to this window's key, sets its expiry and reads the previous
window's key, atomically on the server, for each addition in turn. The
additions of concurrent requests travel together: while one script call is
on its way, the next ones queue and leave as one call when it returns (a
round trip costs a worker far more CPU than the script's work). Each addition
stays atomic and sees every one before it, exactly as separate calls in that
order would, so a batch never lets a limit slip.

A server that cannot be reached, or does not answer within the configured
timeout, raises :class:`~lockgate.counters.CountersUnavailable` for the call
and for everything queued behind it. An addition waits at most for the call
in flight and then its own, each bounded by the timeout, so a Redis outage
never hangs a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from lockgate.counters import Addition, CountersUnavailable, WindowCounts

__all__ = ["RedisCounters", "RedisSettings"]

#: KEYS: (this window, the previous one) per addition; ARGV: (amount, expires_at) per
#: addition. The counts come back as one string ("current previous current previous
#: ..."): one reply to read instead of two per addition (redis-py parses replies in Python).
_ADD_MANY = """
local out = {}
for i = 1, #KEYS, 2 do
  local current = redis.call('INCRBYFLOAT', KEYS[i], ARGV[i])
  redis.call('EXPIREAT', KEYS[i], ARGV[i + 1])
  out[#out + 1] = current
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or '0'
end
return table.concat(out, ' ')
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
        self._many = self._client.register_script(_ADD_MANY)
        self._namespace = namespace
        self._where = settings.identity
        self._timeout = seconds
        #: Additions waiting for the call in flight to return: (items, who waits for their counts).
        self._queue: list[tuple[Sequence[Addition], asyncio.Future[list[WindowCounts]]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def add(self, key: str, window_id: int, amount: float, expires_at: int) -> WindowCounts:
        return (await self.add_many([(key, window_id, amount, expires_at)]))[0]

    async def add_many(self, items: Sequence[Addition]) -> list[WindowCounts]:
        return await self.add_soon(items)

    def add_soon(self, items: Sequence[Addition]) -> asyncio.Future[list[WindowCounts]]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[WindowCounts]] = loop.create_future()
        self._queue.append((items, waiter))
        if self._sender is None:
            self._sender = loop.create_task(self._send())
        return waiter

    async def _send(self) -> None:
        """Sends what queued, one script call at a time, until nothing is left."""
        batch: list[tuple[Sequence[Addition], asyncio.Future[list[WindowCounts]]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                keys: list[str] = []
                args: list[str | int] = []
                for items, _ in batch:
                    for key, window_id, amount, expires_at in items:
                        base = f"{self._namespace}:{key}:"
                        keys += [base + str(window_id), base + str(window_id - 1)]
                        args += [repr(float(amount)), expires_at]
                try:
                    found = await self._many(keys=keys, args=args)
                except (RedisError, OSError) as exc:
                    # What queued meanwhile waits on the same server: it fails now,
                    # not after a timeout of its own.
                    batch += self._queue
                    self._queue = []
                    self._fail(batch, exc)
                    continue
                numbers = found.split()
                counts = [
                    WindowCounts(float(numbers[i]), float(numbers[i + 1]))
                    for i in range(0, len(numbers), 2)
                ]
                at = 0
                for items, waiter in batch:
                    if not waiter.done():
                        waiter.set_result(counts[at : at + len(items)])
                    at += len(items)
        except BaseException as exc:  # a bug or a cancelled worker: nobody is left waiting
            self._fail(batch + self._queue, exc)
            self._queue = []
            raise
        finally:
            self._sender = None

    def _fail(
        self,
        batch: list[tuple[Sequence[Addition], asyncio.Future[list[WindowCounts]]]],
        exc: BaseException,
    ) -> None:
        for _, waiter in batch:
            if waiter.done():
                continue
            if isinstance(exc, RedisError | OSError):
                error = CountersUnavailable(
                    f"Redis at {self._where}: {type(exc).__name__}: {_reason(exc)}"
                )
                error.__cause__ = exc
                waiter.set_exception(error)
            elif isinstance(exc, Exception):
                waiter.set_exception(exc)
            else:
                waiter.cancel()

    async def close(self) -> None:
        if self._sender is not None:  # what is queued (usage corrections) still leaves
            await asyncio.wait([self._sender])
        await self._client.aclose()


def _reason(exc: BaseException) -> str:
    # redis-py's messages name host and port, never the password; keep them short.
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
