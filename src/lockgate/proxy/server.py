"""The proxy: one aiohttp low-level server per worker process running the
plugin pipeline for every request.

Phases run in Kong's order: rewrite, (body read if a plugin needs it),
access, upstream, header_filter, body_filter per chunk, then log, which is
scheduled after the response is complete so the client never waits for it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from multidict import CIMultiDict

from lockgate import __version__
from lockgate.config.state import GatewayState
from lockgate.proxy.compiled import Chain, CompiledConfig
from lockgate.proxy.context import Exit, RequestContext, UnreadableBody, UpstreamResponse
from lockgate.proxy.ledger_row import ledger_row
from lockgate.proxy.logrecord import build_record
from lockgate.proxy.router import upstream_path
from lockgate.proxy.upstream import HttpUpstream
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["Gateway"]

log = logging.getLogger("lockgate.proxy")

NO_ROUTE = orjson.dumps({"message": "no Route matched with those values"})
VIA = f"1.1 lockgate/{__version__}"
SERVER = f"lockgate/{__version__}"


class Gateway:
    def __init__(self, env: WorkerEnv, compiled: CompiledConfig) -> None:
        self.env = env
        self.compiled = compiled
        self.http = HttpUpstream(env.session)
        self._log_tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        # Request ids: a random per-process prefix and a counter (32 hex digits,
        # like Kong's), without a random-number system call per request.
        self._id_prefix = os.urandom(8).hex()
        self._id_counter = itertools.count(1)

    def _request_id(self) -> str:
        return f"{self._id_prefix}{next(self._id_counter):016x}"

    def swap(self, compiled: CompiledConfig) -> None:
        old, self.compiled = self.compiled, compiled
        if old is not compiled:
            # In-flight requests keep their handlers; close the old ones a little later.
            task = asyncio.get_running_loop().create_task(_close_later(old))
            self._log_tasks.add(task)
            task.add_done_callback(self._log_tasks.discard)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        compiled = self.compiled
        match = compiled.router.match(request.method, request.host, request.path, request.headers)
        if match is None:
            return web.Response(
                status=404, body=NO_ROUTE, content_type="application/json", headers={"Via": VIA}
            )
        self.in_flight += 1
        try:
            route, service = match.route, match.service
            chain = compiled.chain(route["id"], service["id"] if service else None)
            ctx = RequestContext(
                request=request,
                request_id=request.headers.get("X-Kong-Request-Id") or self._request_id(),
                route=route,
                service=service,
                plugins=chain.all,
                compiled=compiled,
            )
            self._prepare_upstream(ctx, match)
            return await self._run(ctx, chain, compiled)
        finally:
            self.in_flight -= 1

    def _prepare_upstream(self, ctx: RequestContext, match: Any) -> None:
        request, service = ctx.request, ctx.service
        ctx.upstream_method = request.method
        ctx.upstream_query = request.query_string
        if service is not None:
            ctx.upstream_scheme = (
                "https" if service["protocol"] in ("https", "grpcs", "wss") else "http"
            )
            ctx.upstream_host = service["host"]
            ctx.upstream_port = service["port"]
            ctx.upstream_path = upstream_path(
                match, request.raw_path.split("?", 1)[0], service.get("path")
            )

    async def _run(
        self, ctx: RequestContext, chain: Chain, compiled: CompiledConfig
    ) -> web.StreamResponse:
        upstream: UpstreamResponse | None = None
        try:
            for plugin in chain.rewrite:
                await plugin.rewrite(ctx)
            if chain.needs_body:
                await ctx.read_body()
            access = chain.access
            index = 0
            ran: set[int] = set()
            chained_for: str | None = None
            while index < len(access):
                plugin = access[index]
                index += 1
                ran.add(id(plugin))
                await plugin.access(ctx)
                if (
                    ctx.consumer is not None
                    and ctx.consumer["id"] != chained_for
                    and compiled.has_consumer_plugins
                    and chain.consumer_scoped
                ):
                    # A credential identified a consumer: the consumer's (and its groups')
                    # plugins now apply. The access phase goes on with the new chain's
                    # plugins that come after this one.
                    chained_for = ctx.consumer["id"]
                    chain = compiled.chain(
                        ctx.route["id"], (ctx.service or {}).get("id"), chained_for
                    )
                    ctx.plugins = chain.all
                    access = tuple(
                        p
                        for p in chain.access
                        if p.PRIORITY <= plugin.PRIORITY and id(p) not in ran
                    )
                    index = 0
            if ctx.upstream is None:
                ctx.upstream = self.http
            upstream = await ctx.upstream.send(ctx)
        except UnreadableBody as exit_:
            restated = (p.client_error(exit_.status, exit_.message) for p in chain.all)
            return await self._exit(ctx, chain, next((e for e in restated if e), exit_))
        except Exit as exit_:
            return await self._exit(ctx, chain, exit_)
        except Exception:
            log.exception("request %s failed before the upstream answered", ctx.request_id)
            return await self._exit(
                ctx, chain, Exit(500, {"message": "An unexpected error occurred"})
            )
        return await self._forward(ctx, chain, upstream)

    async def _forward(
        self, ctx: RequestContext, chain: Chain, upstream: UpstreamResponse
    ) -> web.StreamResponse:
        ctx.response_status = upstream.status
        ctx.response_headers = upstream.headers
        try:
            for plugin in chain.header_filter:
                plugin.header_filter(ctx)
        except Exit as exit_:
            if upstream.release:
                upstream.release()
            return await self._exit(ctx, chain, exit_)
        self._gateway_headers(ctx)
        if upstream.complete is not None:
            return self._complete(ctx, chain, upstream.complete)
        response = web.StreamResponse(status=ctx.response_status, headers=ctx.response_headers)
        ctx.response_started_ns = time.perf_counter_ns()
        filters = chain.body_filter
        if upstream.content_length is not None and not filters:
            response.content_length = upstream.content_length
        try:
            await response.prepare(ctx.request)
            async for chunk in upstream.body:
                for plugin in filters:
                    chunk = plugin.body_filter(ctx, chunk)
                if chunk:
                    ctx.response_size += len(chunk)
                    await response.write(chunk)
            for plugin in filters:
                tail = plugin.body_filter(ctx, b"")
                if tail:
                    ctx.response_size += len(tail)
                    await response.write(tail)
            ctx.upstream_done_ns = time.perf_counter_ns()
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError) as exc:
            ctx.client_aborted = True
            ctx.upstream_done_ns = time.perf_counter_ns()
            if upstream.release:
                upstream.release()
            self._schedule_log(ctx, chain)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return response
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The upstream stopped mid-body: one line naming the phase, and a cut
            # connection so the client cannot take the part it got for the whole.
            how = (
                f"timed out (read_timeout {(ctx.service or {}).get('read_timeout', 60000)} ms)"
                if isinstance(exc, TimeoutError)
                else f"failed ({type(exc).__name__})"
            )
            log.warning(
                "request %s: upstream %s:%s %s while sending the response body",
                ctx.request_id,
                ctx.upstream_host,
                ctx.upstream_port,
                how,
            )
            ctx.upstream_done_ns = time.perf_counter_ns()
            if upstream.release:
                upstream.release()
            self._schedule_log(ctx, chain)
            if ctx.request.transport is not None:
                ctx.request.transport.abort()
            return response
        except Exception:
            log.exception("request %s failed while streaming the response", ctx.request_id)
            ctx.upstream_done_ns = time.perf_counter_ns()
            if upstream.release:
                upstream.release()
            self._schedule_log(ctx, chain)
            raise
        self._schedule_log(ctx, chain)
        return response

    def _complete(self, ctx: RequestContext, chain: Chain, payload: bytes) -> web.Response:
        """A body already in memory: one write, with its Content-Length."""
        for plugin in chain.body_filter:
            payload = plugin.body_filter(ctx, payload) + plugin.body_filter(ctx, b"")
        ctx.response_size = len(payload)
        ctx.upstream_done_ns = ctx.upstream_done_ns or time.perf_counter_ns()
        response = web.Response(
            status=ctx.response_status, body=payload, headers=ctx.response_headers
        )
        self._schedule_log(ctx, chain)
        return response

    async def _exit(self, ctx: RequestContext, chain: Chain, exit_: Exit) -> web.StreamResponse:
        body = exit_.body
        headers = CIMultiDict(exit_.headers)
        if isinstance(body, dict):
            payload = orjson.dumps(body)
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        else:
            payload = body or b""
        ctx.response_status = exit_.status
        ctx.response_headers = headers
        for plugin in chain.header_filter:
            try:
                plugin.header_filter(ctx)
            except Exit:
                pass
        self._gateway_headers(ctx)
        for plugin in chain.body_filter:
            payload = plugin.body_filter(ctx, payload) + plugin.body_filter(ctx, b"")
        ctx.response_size = len(payload)
        response = web.Response(
            status=ctx.response_status, body=payload, headers=ctx.response_headers
        )
        self._schedule_log(ctx, chain)
        return response

    def _gateway_headers(self, ctx: RequestContext) -> None:
        headers = ctx.response_headers
        now = time.perf_counter_ns()
        headers["X-Kong-Request-Id"] = ctx.request_id
        if ctx.upstream_headers_ns:
            headers["X-Kong-Upstream-Latency"] = str(
                round((ctx.upstream_headers_ns - ctx.upstream_started_ns) / 1e6)
            )
            headers["X-Kong-Proxy-Latency"] = str(
                round((ctx.upstream_started_ns - ctx.started_ns) / 1e6)
            )
        else:
            headers["X-Kong-Response-Latency"] = str(round((now - ctx.started_ns) / 1e6))
        if "Server" not in headers:
            headers["Server"] = SERVER
        via = headers.get("Via")
        headers["Via"] = f"{via}, {VIA}" if via else VIA

    def _schedule_log(self, ctx: RequestContext, chain: Chain) -> None:
        if not chain.log and (ctx.ai_call is None or self.env.ledger is None):
            return
        loop = asyncio.get_running_loop()
        loop.call_soon(self._run_log, ctx, chain)

    def _run_log(self, ctx: RequestContext, chain: Chain) -> None:
        ledger = self.env.ledger
        if ledger is not None and ctx.ai_call is not None:
            try:
                ledger.add(ledger_row(ctx, ctx.ai_call))
            except Exception:
                log.exception("could not queue the usage row of request %s", ctx.request_id)
        if not chain.log:
            return
        try:
            record = build_record(ctx)
        except Exception:
            log.exception("could not build the log record of request %s", ctx.request_id)
            return
        for plugin in chain.log:
            try:
                plugin.log(ctx, record)
            except Exception:
                log.exception("plugin %s failed in the log phase", plugin.name)

    async def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def _close_later(compiled: CompiledConfig) -> None:
    await asyncio.sleep(5)
    await compiled.close()


def compile_state(state: GatewayState, version: int, env: WorkerEnv) -> CompiledConfig:
    return CompiledConfig(state, version, env)
