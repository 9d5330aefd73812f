"""The request as Lua snippets see it, shared by every plugin that runs Lua
(pre-function, post-function, file-log's custom fields): one
:class:`~lockgate.lua.LuaRequest` per request, so ``kong.ctx.shared`` and
the PDK's view of the request are the same in every snippet and phase."""

from __future__ import annotations

from lockgate.lua import LuaRequest
from lockgate.proxy.context import RequestContext

__all__ = ["LUA_REQUEST_KEY", "lua_request"]

#: Where the request's LuaRequest lives in ``ctx.plugin_state``.
LUA_REQUEST_KEY = "lua_request"


def lua_request(ctx: RequestContext) -> LuaRequest:
    """The request as Lua sees it; one per request, shared by every snippet and phase."""
    state = ctx.plugin_state.get(LUA_REQUEST_KEY)
    if state is None:
        req = ctx.request
        headers: dict[str, str] = {}
        for name, value in req.headers.items():
            lname = name.lower()
            headers[lname] = f"{headers[lname]}, {value}" if lname in headers else value
        host, _, port = req.host.partition(":")
        state = LuaRequest(
            method=req.method,
            path=req.path,
            raw_query=req.query_string,
            headers=headers,
            body=ctx.body,
            client_ip=req.remote or "",
            scheme=req.scheme,
            host=host,
            port=int(port) if port.isdigit() else (443 if req.scheme == "https" else 80),
            route_id=ctx.route.get("id"),
            service_id=(ctx.service or {}).get("id"),
            consumer_id=(ctx.consumer or {}).get("id"),
        )
        state.shared = ctx.shared
        ctx.plugin_state[LUA_REQUEST_KEY] = state
    return state
