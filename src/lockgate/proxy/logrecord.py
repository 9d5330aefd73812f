"""The per-request log record (Kong's basic serializer shape, SPEC section 5)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

from lockgate.proxy.context import RequestContext

__all__ = ["REDACTED_HEADERS", "build_record", "redact_headers"]

REDACTED_HEADERS = frozenset(
    (
        "authorization",
        "x-api-key",
        "proxy-authorization",
        "api-key",
        "x-goog-api-key",
        "apikey",
        "cookie",
        "set-cookie",
    )
)
_REDACTED_QUERY = frozenset(("key", "api_key", "apikey", "api-key", "access_token", "token"))
_MS = 1_000_000


def redact_headers(headers: Any, extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in headers.items():
        lname = name.lower()
        if lname in REDACTED_HEADERS or lname in extra:
            value = "REDACTED"
        prev = out.get(lname)
        if prev is None:
            out[lname] = value
        elif isinstance(prev, list):
            prev.append(value)
        else:
            out[lname] = [prev, value]
    return out


def _query(raw: str, extra: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key.lower() in _REDACTED_QUERY or key.lower() in extra:
            value = "REDACTED"
        out[key] = value if value != "" else True
    return out


def _redact_uri(uri: str, extra: frozenset[str]) -> str:
    path, sep, raw = uri.partition("?")
    if not sep:
        return uri
    parts = []
    for piece in raw.split("&"):
        key, eq, _ = piece.partition("=")
        parts.append(
            f"{key}=REDACTED"
            if eq and (key.lower() in _REDACTED_QUERY or key.lower() in extra)
            else piece
        )
    return path + "?" + "&".join(parts)


def build_record(
    ctx: RequestContext, *, secret_names: frozenset[str] = frozenset()
) -> dict[str, Any]:
    req = ctx.request
    end_ns = time.perf_counter_ns()
    total = (end_ns - ctx.started_ns) / _MS
    proxy = (
        (ctx.upstream_headers_ns - ctx.upstream_started_ns) / _MS
        if ctx.upstream_headers_ns
        else 0.0
    )
    receive = (
        (ctx.upstream_done_ns - ctx.upstream_headers_ns) / _MS
        if ctx.upstream_done_ns and ctx.upstream_headers_ns
        else 0.0
    )
    host = req.host
    uri = _redact_uri(req.path_qs, secret_names)
    record: dict[str, Any] = {
        "request": {
            "id": ctx.request_id,
            "method": req.method,
            "uri": uri,
            "url": f"{req.scheme}://{host}{uri}",
            "querystring": _query(req.query_string, secret_names),
            "headers": redact_headers(req.headers, secret_names),
            "size": ctx.request_size
            if ctx.request_size is not None
            else int(req.headers.get("Content-Length", 0) or 0),
        },
        "upstream_uri": _redact_uri(ctx.upstream_uri, secret_names),
        "response": {
            "status": ctx.response_status,
            "headers": redact_headers(ctx.response_headers, secret_names),
            "size": ctx.response_size,
        },
        "latencies": {
            "request": round(total),
            "proxy": round(proxy),
            "receive": round(receive),
            "kong": max(0, round(total - proxy - receive)),
        },
        "tries": [],
        "route": ctx.route,
        "service": ctx.service,
        "client_ip": req.remote or "",
        "started_at": int(ctx.started_at * 1000),
        "source": "upstream" if ctx.upstream_headers_ns else "kong",
    }
    if ctx.upstream_headers_ns:
        record["tries"] = [
            {"ip": ctx.upstream_host, "port": ctx.upstream_port, "balancer_latency": 0}
        ]
        record["upstream_status"] = str(ctx.response_status)
    if ctx.consumer is not None:
        record["consumer"] = {
            k: v
            for k, v in ctx.consumer.items()
            if k in ("id", "username", "custom_id", "tags", "created_at")
        }
    if ctx.client_aborted:
        record["response"]["status"] = 499 if not ctx.response_status else ctx.response_status
        record["client_aborted"] = True
    record.update(ctx.log_extra)
    return record
