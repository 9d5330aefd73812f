"""Per-request state passed through the plugin phases.

Plugins talk to the request only through this object; anything one plugin
leaves for another is a named, typed attribute here (never a free-form
shared dict), except ``shared``, which is Kong's ``kong.ctx.shared`` for Lua
snippets.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from multidict import CIMultiDict

from lockgate.proxy.malformed import BODY_ERRORS, body_fault

if TYPE_CHECKING:
    from lockgate.proxy.compiled import CompiledConfig
    from lockgate.proxy.plugin import PluginHandler
    from lockgate.usage.rows import AICall

__all__ = [
    "DEFAULT_MAX_BODY",
    "HOP_BY_HOP",
    "Exit",
    "RequestContext",
    "UnreadableBody",
    "Upstream",
    "UpstreamResponse",
]

#: A hard ceiling on buffered request bodies (plugins such as ai-proxy set lower ones).
DEFAULT_MAX_BODY = 64 * 1024 * 1024


class Exit(Exception):
    """Raised by a plugin to answer the client directly (Kong's ``kong.response.exit``)."""

    def __init__(
        self,
        status: int,
        body: bytes | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class UnreadableBody(Exit):
    """The gateway's 400 for a request body that cannot be read (a
    Content-Encoding that lies), in Kong's shape; the route's AI plugin
    restates ``message`` in its client's format
    (:meth:`~lockgate.proxy.plugin.PluginHandler.client_error`)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, {"message": message})
        self.message = message

    @classmethod
    def of(cls, exc: BaseException, content_encoding: str = "") -> UnreadableBody:
        return cls(f"Cannot read the request body: {body_fault(exc, content_encoding)}")


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: CIMultiDict[str]
    body: AsyncIterator[bytes]
    #: Called once the body has been forwarded (or abandoned): returns the connection.
    release: Any = None
    #: The upstream's Content-Length, kept when no plugin rewrites the body.
    content_length: int | None = None
    #: The whole body when it is already in memory (answered with one write).
    complete: bytes | None = None


class Upstream(Protocol):
    async def send(self, ctx: RequestContext) -> UpstreamResponse: ...


@dataclass(slots=True, eq=False)
class RequestContext:
    request: web.BaseRequest
    request_id: str
    route: dict[str, Any]
    service: dict[str, Any] | None
    plugins: list[PluginHandler]
    #: The configuration version serving this request (entity lookups: consumers, keys).
    compiled: CompiledConfig
    started_at: float = field(default_factory=time.time)
    started_ns: int = field(default_factory=time.perf_counter_ns)
    consumer: dict[str, Any] | None = None
    credential: dict[str, Any] | None = None
    #: The request body when a plugin asked for it (``needs_body``) or a plugin replaced it.
    body: bytes | None = None
    body_read: bool = False
    #: Bytes of the request body read (kept for the log when the body itself is let go).
    request_size: int | None = None
    upstream: Upstream | None = None
    # Where the request goes; ai-proxy replaces these.
    upstream_scheme: str = "http"
    upstream_host: str = ""
    upstream_port: int = 80
    upstream_path: str = "/"
    upstream_query: str = ""
    upstream_method: str = "GET"
    #: Built on first use (see :attr:`upstream_headers`): ai-proxy never needs them.
    _upstream_headers: CIMultiDict[str] | None = None
    #: Changes made before they were built (:meth:`set_upstream_header`): (name, value or None).
    _upstream_header_changes: list[tuple[str, str | None]] | None = None
    # The answer.
    response_status: int = 0
    response_headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    response_size: int = 0
    response_started_ns: int = 0
    # Timings in nanoseconds (perf counter).
    upstream_started_ns: int = 0
    upstream_headers_ns: int = 0
    upstream_done_ns: int = 0
    #: Set when the client went away before the response was complete.
    client_aborted: bool = False
    #: The AI call's facts (ai-proxy sets them), for the usage ledger.
    ai_call: AICall | None = None
    #: Extra top-level parts of the log record (e.g. ``{"ai": {...}}``), added by plugins.
    log_extra: dict[str, Any] = field(default_factory=dict)
    #: kong.ctx.shared for Lua snippets.
    shared: dict[str, Any] = field(default_factory=dict)
    #: Plugin-private per-request state, keyed by plugin id.
    plugin_state: dict[str, Any] = field(default_factory=dict)

    async def read_body(self, limit: int = DEFAULT_MAX_BODY) -> bytes:
        """Read the whole request body once; 413 beyond ``limit`` bytes (0 = no limit)."""
        if self.body_read:
            body = self.body or b""
            if limit and len(body) > limit:
                raise Exit(413, {"message": "Request size limit exceeded"})
            return body
        request = self.request
        declared = request.content_length
        if limit and declared is not None and declared > limit:
            raise Exit(413, {"message": "Request size limit exceeded"})
        chunks = []
        size = 0
        try:
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if limit and size > limit:
                    raise Exit(413, {"message": "Request size limit exceeded"})
                chunks.append(chunk)
        except BODY_ERRORS as exc:
            raise UnreadableBody.of(exc, request.headers.get("Content-Encoding", "")) from exc
        self.body = b"".join(chunks)
        self.body_read = True
        self.request_size = size
        return self.body

    @property
    def upstream_headers(self) -> CIMultiDict[str]:
        """The headers sent to a plain HTTP upstream: the client's, minus the
        hop-by-hop ones, with Host and the X-Forwarded-* family set. Plugins
        may change them in rewrite and access."""
        headers = self._upstream_headers
        if headers is None:
            headers = self._upstream_headers = _forwarded_headers(self)
            for name, value in self._upstream_header_changes or ():
                if value is None:
                    headers.popall(name, None)
                else:
                    headers[name] = value
            self._upstream_header_changes = None
        return headers

    def set_upstream_header(self, name: str, value: str | None) -> None:
        """Set (None: remove) a header for a plain HTTP upstream without
        building the forwarded set, which an AI upstream never reads: the
        change is applied when :attr:`upstream_headers` is first used."""
        headers = self._upstream_headers
        if headers is not None:
            if value is None:
                headers.popall(name, None)
            else:
                headers[name] = value
        elif self._upstream_header_changes is None:
            self._upstream_header_changes = [(name, value)]
        else:
            self._upstream_header_changes.append((name, value))

    @property
    def upstream_uri(self) -> str:
        return self.upstream_path + ("?" + self.upstream_query if self.upstream_query else "")


#: Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    )
)


def _forwarded_headers(ctx: RequestContext) -> CIMultiDict[str]:
    request = ctx.request
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        if name.lower() not in HOP_BY_HOP:
            headers.add(name, value)
    if not ctx.route.get("preserve_host"):
        default_port = 443 if ctx.upstream_scheme == "https" else 80
        headers["Host"] = (
            ctx.upstream_host
            if ctx.upstream_port == default_port
            else f"{ctx.upstream_host}:{ctx.upstream_port}"
        )
    remote = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {remote}" if prior else remote
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host.split(":")[0]
    headers["X-Forwarded-Path"] = request.path
    headers["X-Real-IP"] = remote
    headers["X-Kong-Request-Id"] = ctx.request_id
    return headers
