"""key-auth (Kong priority 1250): a key in a header, query parameter or body
field identifies a consumer; no valid key -> 401 as Kong answers it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from pydantic import Field

from lockgate.plugins.base import PluginConfig, PluginHandler
from lockgate.proxy.context import Exit, RequestContext

__all__ = ["KeyAuth", "KeyAuthConfig"]


class KeyAuthConfig(PluginConfig):
    key_names: list[str] = Field(default_factory=lambda: ["apikey"], min_length=1)
    hide_credentials: bool = False
    anonymous: str | None = None
    key_in_header: bool = True
    key_in_query: bool = True
    key_in_body: bool = False
    run_on_preflight: bool = True
    realm: str | None = None


class KeyAuth(PluginHandler):
    name = "key-auth"
    PRIORITY = 1250
    VERSION = "3.13.0"
    Config = KeyAuthConfig

    async def access(self, ctx: RequestContext) -> None:
        config: KeyAuthConfig = self.config
        request = ctx.request
        if request.method == "OPTIONS" and not config.run_on_preflight:
            return
        key: str | None = None
        where: tuple[str, str] | None = None
        for name in config.key_names:
            if config.key_in_header and name in request.headers:
                key, where = request.headers[name], ("header", name)
                break
            if config.key_in_query and name in request.query:
                key, where = request.query[name], ("query", name)
                break
        if key is None and config.key_in_body:
            body = await ctx.read_body()
            try:
                data = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError:
                data = dict(parse_qsl(body.decode("utf-8", "replace")))
            if isinstance(data, dict):
                for name in config.key_names:
                    if isinstance(data.get(name), str):
                        key, where = data[name], ("body", name)
                        break
        credential = ctx.compiled.keyauth_by_key.get(key) if key else None
        if credential is None:
            if config.anonymous:
                ctx.consumer = self._consumer(ctx, config.anonymous)
                return
            realm = f' realm="{config.realm}"' if config.realm else ' realm="kong"'
            headers = {"WWW-Authenticate": "Key" + realm}
            if key is None:
                raise Exit(401, {"message": "No API key found in request"}, headers)
            raise Exit(401, {"message": "Unauthorized"}, headers)
        ctx.credential = {"id": credential["id"], "consumer": credential["consumer"]}
        ctx.consumer = self._consumer(ctx, credential["consumer"]["id"])
        ctx.set_upstream_header("X-Consumer-ID", ctx.consumer["id"] if ctx.consumer else "")
        if ctx.consumer and ctx.consumer.get("username"):
            ctx.set_upstream_header("X-Consumer-Username", ctx.consumer["username"])
        if config.hide_credentials and where is not None:
            kind, name = where
            if kind == "header":
                ctx.set_upstream_header(name, None)
            elif kind == "query":
                ctx.upstream_query = urlencode(
                    [
                        (k, v)
                        for k, v in parse_qsl(ctx.upstream_query, keep_blank_values=True)
                        if k != name
                    ]
                )

    def _consumer(self, ctx: RequestContext, id_or_name: str) -> dict[str, Any] | None:
        consumers = ctx.compiled.consumers
        found = consumers.get(id_or_name)
        if found is None:
            found = next((c for c in consumers.values() if c.get("username") == id_or_name), None)
        return found
