"""The request state a snippet reads and writes.

The proxy fills the inputs before a phase, runs the snippets, and reads the
outputs back. Outputs accumulate across phases and snippets of one request, so
one ``LuaRequest`` lives as long as the HTTP request it describes; an output
left at ``None`` or empty means "unchanged".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LuaRequest:
    """One HTTP request as the Kong PDK sees it.

    Header names are lower-case everywhere (the proxy joins repeated request
    headers with ``", "``). String values the snippet stores in ``shared`` or
    ``ctx`` come back as ``str`` when they are valid UTF-8 and as ``bytes``
    otherwise; Lua tables and functions come back as opaque lupa objects that
    keep their identity when the next phase hands them back to Lua.
    """

    # inputs: the client request
    method: str = "GET"
    path: str = "/"
    raw_query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    client_ip: str = "127.0.0.1"
    scheme: str = "http"
    host: str = "localhost"
    port: int = 80
    route_id: str | None = None
    service_id: str | None = None
    consumer_id: str | None = None

    # outputs: the request to the service
    service_body: bytes | None = None
    service_content_type: str | None = None
    service_headers_set: dict[str, str] = field(default_factory=dict)
    service_headers_cleared: set[str] = field(default_factory=set)
    service_path: str | None = None
    service_query: str | None = None
    service_method: str | None = None

    # outputs: a response produced by kong.response.exit / ngx.exit
    exit_status: int | None = None
    exit_body: bytes | None = None
    exit_headers: dict[str, str] = field(default_factory=dict)

    # outputs: changes to the response the client will receive
    response_headers_set: dict[str, str] = field(default_factory=dict)
    response_headers_cleared: set[str] = field(default_factory=set)

    # per-request state: kong.ctx.shared, and ngx.ctx / kong.ctx.plugin
    shared: dict[str, Any] = field(default_factory=dict)
    ctx: dict[str, Any] = field(default_factory=dict)

    # (level, message) pairs for the proxy's error log
    log_lines: list[tuple[str, str]] = field(default_factory=list)

    # header_filter / body_filter / log: the service's response
    # (response_status is also written by ngx.status= and kong.response.set_status)
    response_status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    # body_filter: the current chunk (ngx.arg[1]) and whether it is the last (ngx.arg[2])
    chunk: bytes | None = None
    eof: bool = False

    def effective_headers(self) -> dict[str, str]:
        """Request headers as the service will receive them so far."""
        headers = {k: v for k, v in self.headers.items() if k not in self.service_headers_cleared}
        headers.update(self.service_headers_set)
        return headers

    def effective_response_headers(self) -> dict[str, str]:
        """Response headers as the client will receive them so far."""
        headers = {
            k: v for k, v in self.response_headers.items() if k not in self.response_headers_cleared
        }
        headers.update(self.response_headers_set)
        return headers
