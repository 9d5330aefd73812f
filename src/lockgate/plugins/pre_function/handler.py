"""pre-function (priority 1000000) and post-function (-1000).

Snippets are compiled once per configuration version into the worker's
sandboxed LuaJIT state and run per request with the Kong PDK subset bound
to that request. A syntax error rejects the configuration; a runtime error
answers 500 and writes the Lua traceback to the error log.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import Field

from lockgate.lua import LuaError, LuaRequest, LuaSyntaxError, check_syntax
from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.plugins.lua_context import LUA_REQUEST_KEY, lua_request
from lockgate.proxy.context import Exit, RequestContext
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["PostFunction", "PreFunction"]

log = logging.getLogger("lockgate.lua")

LUA_PHASES = ("rewrite", "access", "header_filter", "body_filter", "log")


class FunctionConfig(PluginConfig):
    certificate: list[str] = Field(default_factory=list)
    rewrite: list[str] = Field(default_factory=list)
    access: list[str] = Field(default_factory=list)
    header_filter: list[str] = Field(default_factory=list)
    body_filter: list[str] = Field(default_factory=list)
    log: list[str] = Field(default_factory=list)
    ws_handshake: list[str] = Field(default_factory=list)
    ws_client_frame: list[str] = Field(default_factory=list)
    ws_upstream_frame: list[str] = Field(default_factory=list)
    ws_close: list[str] = Field(default_factory=list)


class PreFunction(PluginHandler):
    name = "pre-function"
    PRIORITY = 1_000_000
    VERSION = "3.13.0"
    Config = FunctionConfig
    LUA_NAME: ClassVar[str] = "pre-function"

    def __init__(self, entity: dict[str, Any], config: FunctionConfig, env: WorkerEnv) -> None:
        super().__init__(entity, config, env)
        runtime = env.lua
        self.chunks = {
            phase: [
                runtime.compile(code, f"{self.LUA_NAME}:{phase}[{i}]")
                for i, code in enumerate(getattr(config, phase))
            ]
            for phase in LUA_PHASES
        }

    @classmethod
    def check(cls, config: Any) -> list[str]:
        problems = []
        for phase in LUA_PHASES:
            for i, code in enumerate(getattr(config, phase)):
                try:
                    check_syntax(code)
                except LuaSyntaxError as exc:
                    problems.append(f"config.{phase}.{i}: {exc}")
        return problems

    def _run(self, ctx: RequestContext, phase: str, state: LuaRequest) -> None:
        runtime = self.env.lua
        for chunk in self.chunks[phase]:
            try:
                runtime.run(chunk, state, phase)
            except LuaError as exc:
                log.error(
                    "%s %s phase failed for request %s: %s\n%s",
                    self.LUA_NAME,
                    phase,
                    ctx.request_id,
                    exc,
                    getattr(exc, "traceback", ""),
                )
                for level, message in state.log_lines:
                    log.log(_LEVELS.get(level, logging.INFO), "[lua] %s", message)
                state.log_lines.clear()
                raise Exit(500, {"message": "An unexpected error occurred"}) from exc
            if state.log_lines:
                for level, message in state.log_lines:
                    log.log(_LEVELS.get(level, logging.INFO), "[lua] %s", message)
                state.log_lines.clear()
            if state.exit_status is not None:
                status, body, headers = state.exit_status, state.exit_body, dict(state.exit_headers)
                state.exit_status = None
                raise Exit(status, body or b"", headers)

    async def _request_phase(self, ctx: RequestContext, phase: str) -> None:
        if not self.chunks[phase]:
            return
        if not ctx.body_read and ctx.request.body_exists:
            await ctx.read_body()
        state = lua_request(ctx)
        state.body = ctx.body
        self._run(ctx, phase, state)
        self._apply_request_changes(ctx, state)

    async def rewrite(self, ctx: RequestContext) -> None:
        await self._request_phase(ctx, "rewrite")

    async def access(self, ctx: RequestContext) -> None:
        await self._request_phase(ctx, "access")
        state = ctx.plugin_state.get(LUA_REQUEST_KEY)
        if state is not None:
            # The request body is readable in rewrite and access only (as in Kong):
            # do not keep it alive for the rest of a long response.
            state.body = None

    def header_filter(self, ctx: RequestContext) -> None:
        if not self.chunks["header_filter"]:
            return
        state = lua_request(ctx)
        state.response_status = ctx.response_status
        state.response_headers = {k.lower(): v for k, v in ctx.response_headers.items()}
        self._run(ctx, "header_filter", state)
        for name in state.response_headers_cleared:
            ctx.response_headers.popall(name, None)
        for name, value in state.response_headers_set.items():
            ctx.response_headers[name] = value
        state.response_headers_cleared.clear()
        state.response_headers_set.clear()

    def body_filter(self, ctx: RequestContext, chunk: bytes) -> bytes:
        if not self.chunks["body_filter"]:
            return chunk
        state = lua_request(ctx)
        state.chunk = chunk
        state.eof = not chunk
        self._run(ctx, "body_filter", state)
        out = state.chunk if state.chunk is not None else b""
        state.chunk = None
        return out

    def log(self, ctx: RequestContext, record: dict[str, Any]) -> None:
        if not self.chunks["log"]:
            return
        state = lua_request(ctx)
        state.response_status = ctx.response_status
        try:
            self._run(ctx, "log", state)
        except Exit:
            pass  # too late to answer differently; the error is in the error log

    def _apply_request_changes(self, ctx: RequestContext, state: LuaRequest) -> None:
        if state.service_body is not None:
            ctx.body = state.service_body
            ctx.body_read = True
            state.body = state.service_body
            state.service_body = None
            if state.service_content_type:
                ctx.upstream_headers["Content-Type"] = state.service_content_type
                state.service_content_type = None
        for name in state.service_headers_cleared:
            ctx.upstream_headers.popall(name, None)
        for name, value in state.service_headers_set.items():
            ctx.upstream_headers[name] = value
        state.service_headers_cleared.clear()
        state.service_headers_set.clear()
        if state.service_path is not None:
            ctx.upstream_path = state.service_path
            state.service_path = None
        if state.service_query is not None:
            ctx.upstream_query = state.service_query
            state.service_query = None
        if state.service_method is not None:
            ctx.upstream_method = state.service_method
            state.service_method = None


class PostFunction(PreFunction):
    name = "post-function"
    PRIORITY = -1000
    LUA_NAME = "post-function"


_LEVELS = {
    "err": logging.ERROR,
    "error": logging.ERROR,
    "crit": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emerg": logging.CRITICAL,
    "warn": logging.WARNING,
    "notice": logging.INFO,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}
