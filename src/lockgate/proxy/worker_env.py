"""Resources one worker process shares between all requests and configurations:
the upstream connection pool, the Lua state, open log files, token caches."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from lockgate.lua import LuaRuntime
    from lockgate.plugins.file_log.writer import LogWriter

__all__ = ["WorkerEnv"]


class WorkerEnv:
    def __init__(self, worker_id: int = 0) -> None:
        self.worker_id = worker_id
        self.log = logging.getLogger("lockgate")
        self._session: aiohttp.ClientSession | None = None
        self._lua: LuaRuntime | None = None
        self._writers: dict[str, LogWriter] = {}
        #: Caches plugins may keep across configuration versions (e.g. OAuth tokens), by key.
        self.caches: dict[str, Any] = {}

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

    def writer(self, path: str) -> LogWriter:
        writer = self._writers.get(path)
        if writer is None:
            from lockgate.plugins.file_log.writer import LogWriter

            writer = self._writers[path] = LogWriter(path)
        return writer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        for writer in self._writers.values():
            writer.close()
