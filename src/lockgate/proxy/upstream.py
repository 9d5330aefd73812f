"""Plain HTTP proxying to a service, with pooled connections, timeouts and retries."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
from multidict import CIMultiDict

from lockgate.proxy.context import (
    HOP_BY_HOP,
    Exit,
    RequestContext,
    UnreadableBody,
    UpstreamResponse,
)
from lockgate.proxy.malformed import BODY_ERRORS

__all__ = ["HOP_BY_HOP", "HttpUpstream", "connection_error_text", "stream_body"]

log = logging.getLogger("lockgate.proxy")

#: Request bodies in these encodings reach handlers decoded (aiohttp's server
#: decodes them; one it cannot decode is answered 400 before).
DECODED_ENCODINGS = frozenset(("gzip", "deflate", "br", "zstd"))

BAD_GATEWAY = {"message": "An invalid response was received from the upstream server"}
GATEWAY_TIMEOUT = {"message": "The upstream server is timing out"}


def connection_error_text(exc: BaseException, scheme: str, host: str, port: int) -> str:
    """What went wrong reaching ``host:port``, in words that fit the URL.

    aiohttp's own text (``Cannot connect to host h:p ssl:default [...]``)
    names an SSL setting even for a plain-HTTP URL, which sends users
    looking for a TLS problem that does not exist; TLS is named here only
    when the failure is one.
    """
    where = f"{host}:{port}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {where} was not accepted: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError):
        return f"the TLS handshake with {where} failed: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, socket.gaierror):
            return f"cannot resolve {host}: {exc.os_error.strerror or exc.os_error}"
        errno = exc.os_error.errno
        reason = os.strerror(errno) if errno and errno > 0 else str(exc.os_error)
        return f"cannot connect to {where} ({scheme}): {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection before answering"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"timed out connecting to {where}"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        # aiohttp's sock_read: the connection was made, the answer did not come.
        return f"timed out waiting for the response from {where}"
    return f"{where}: {type(exc).__name__}: {exc}"


async def stream_body(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in resp.content.iter_any():
        yield chunk


class HttpUpstream:
    """Sends the request to ``ctx.upstream_*`` through the worker's shared session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, ctx: RequestContext) -> UpstreamResponse:
        service = ctx.service or {}
        retries = int(service.get("retries", 5))
        timeout = aiohttp.ClientTimeout(
            sock_connect=service.get("connect_timeout", 60000) / 1000,
            sock_read=service.get("read_timeout", 60000) / 1000,
        )
        host = ctx.upstream_host
        default_port = 443 if ctx.upstream_scheme == "https" else 80
        netloc = host if ctx.upstream_port == default_port else f"{host}:{ctx.upstream_port}"
        url = f"{ctx.upstream_scheme}://{netloc}{ctx.upstream_uri}"
        body: object = ctx.body if ctx.body_read else ctx.request.content
        sent_headers = ctx.upstream_headers
        encoding = ctx.request.headers.get("Content-Encoding", "")
        if (
            encoding.strip().lower() in DECODED_ENCODINGS
            and sent_headers.get("Content-Encoding") == encoding
        ):
            # aiohttp's server has decoded the body: what goes upstream is plain.
            del sent_headers["Content-Encoding"]
        attempt = 0
        while True:
            ctx.upstream_started_ns = time.perf_counter_ns()
            try:
                resp = await self.session.request(
                    ctx.upstream_method,
                    url,
                    headers=sent_headers,
                    data=body,
                    timeout=timeout,
                    allow_redirects=False,
                    auto_decompress=False,
                    skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                )
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
                _raise_if_client_body_failed(ctx, exc)
                # Only a failed connect is safe to retry: the body has not been consumed.
                if attempt < retries and isinstance(exc, aiohttp.ClientConnectorError):
                    attempt += 1
                    continue
                _log_failure(ctx, exc, attempt)
                raise Exit(502, BAD_GATEWAY) from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                _raise_if_client_body_failed(ctx, exc)
                _log_failure(ctx, exc, attempt)
                raise Exit(504, GATEWAY_TIMEOUT) from exc
            except aiohttp.ClientError as exc:
                _raise_if_client_body_failed(ctx, exc)
                _log_failure(ctx, exc, attempt)
                raise Exit(502, BAD_GATEWAY) from exc
            break
        ctx.upstream_headers_ns = time.perf_counter_ns()
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in resp.headers.items():
            if name.lower() not in HOP_BY_HOP:
                headers.add(name, value)
        return UpstreamResponse(
            resp.status, headers, _guarded(resp), resp.release, resp.content_length
        )


def _raise_if_client_body_failed(ctx: RequestContext, exc: BaseException) -> None:
    """A streamed body that the client made unreadable (a Content-Encoding that
    lies) fails the upstream call too; that is the client's fault, not the upstream's."""
    if ctx.body_read:
        return
    fault = ctx.request.content.exception()
    if isinstance(fault, BODY_ERRORS):
        encoding = ctx.request.headers.get("Content-Encoding", "")
        raise UnreadableBody.of(fault, encoding) from exc


def _log_failure(ctx: RequestContext, exc: BaseException, retries: int) -> None:
    text = connection_error_text(exc, ctx.upstream_scheme, ctx.upstream_host, ctx.upstream_port)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        service = ctx.service or {}
        setting = (
            "connect_timeout" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "read_timeout"
        )
        text += f" ({setting} {service.get(setting, 60000)} ms)"
    tries = f" (after {retries} retries)" if retries else ""
    log.error("request %s: upstream failed%s: %s", ctx.request_id, tries, text)


async def _guarded(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.content.iter_any():
            yield chunk
    finally:
        resp.release()
