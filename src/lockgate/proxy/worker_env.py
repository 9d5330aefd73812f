"""Resources one worker process shares between all requests and configurations:
the plugin classes it was started with, the upstream connection pool, the Lua
state, and what plugins keep open across versions (log files, token caches)."""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiohttp

if TYPE_CHECKING:
    from lockgate.lua import LuaRuntime
    from lockgate.proxy.plugin import PluginHandler
    from lockgate.usage.writer import LedgerWriter


class Closeable(Protocol):
    def close(self) -> Any: ...


R = TypeVar("R", bound=Closeable)

__all__ = ["WorkerEnv"]


class WorkerEnv:
    def __init__(
        self,
        worker_id: int = 0,
        plugins: Mapping[str, type[PluginHandler]] | None = None,
        prefix: str | None = None,
    ) -> None:
        self.worker_id = worker_id
        #: The node's prefix directory (None in tests that run without a node).
        self.prefix = prefix
        #: Plugin classes by name (the registry's), handed in by whoever starts the worker.
        self.plugins: Mapping[str, type[PluginHandler]] = plugins or {}
        self.log = logging.getLogger("lockgate")
        self._session: aiohttp.ClientSession | None = None
        self._lua: LuaRuntime | None = None
        self._resources: dict[tuple[str, str], Closeable] = {}
        #: Caches plugins may keep across configuration versions (e.g. OAuth tokens), by key.
        self.caches: dict[str, Any] = {}
        #: The usage ledger's writer when the node keeps one (set by the worker at start).
        self.ledger: LedgerWriter | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=60
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    @property
    def lua(self) -> LuaRuntime:
        if self._lua is None:
            from lockgate.lua import LuaRuntime

            self._lua = LuaRuntime()
        return self._lua

    def prefix_path(self, name: str) -> str:
        assert self.prefix is not None
        return os.path.join(self.prefix, name)

    def resource(self, key: tuple[str, str], make: Callable[[], R]) -> R:
        """One object per ``key`` for the worker's life (e.g. file-log's writer per
        path), made on first use and closed with the worker."""
        found = self._resources.get(key)
        if found is None:
            found = self._resources[key] = make()
        return found  # type: ignore[return-value]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        for resource in self._resources.values():
            closing = resource.close()
            if inspect.isawaitable(closing):
                await closing
        if self.ledger is not None:
            await self.ledger.close()
