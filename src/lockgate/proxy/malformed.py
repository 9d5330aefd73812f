"""Malformed HTTP requests, described without echoing what the client sent.

aiohttp's parser errors carry the offending bytes in their message: a line
that is too long is quoted up to 100 bytes, an invalid header or URL is
repeated with the data around it. Those bytes may be an ``Authorization``
or ``x-api-key`` value, so neither a log line nor an answer may use the
message. These functions name the phase and the kind of fault from the
exception's class and its numeric arguments only.

:class:`MalformedRequestLog` is handed to aiohttp's server as its logger: a
malformed request becomes one warning line (``malformed HTTP request from
127.0.0.1 while reading the request head: a request line or header longer
than 8190 bytes``); every other failure keeps its traceback, since that is a
bug of ours.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadHttpMethod,
    BadStatusLine,
    ContentEncodingError,
    ContentLengthError,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    PayloadEncodingError,
    TransferEncodingError,
)

__all__ = [
    "BODY_ERRORS",
    "MalformedRequestLog",
    "MalformedRequestServer",
    "body_fault",
    "describe",
    "phase",
]


#: llhttp's reasons are fixed texts ("Invalid character in chunk size"); anything
#: else in that place is not trusted to be one.
_REASON = re.compile(r"[A-Za-z][A-Za-z0-9 '_-]{2,80}")


def _parser_reason(exc: HttpProcessingError) -> str | None:
    """llhttp's reason, the text before the quoted bytes in aiohttp's message
    (``"Invalid header value char:\n\n  b'...'"``)."""
    reason, sep, _ = str(exc.message).partition(":\n\n")
    return reason if sep and _REASON.fullmatch(reason) else None


def phase(exc: HttpProcessingError) -> str:
    """Which part of the request could not be read."""
    reason = _parser_reason(exc) or ""
    if isinstance(exc, PayloadEncodingError) or "chunk" in reason.lower():
        return "the request body"
    return "the request head"


#: What reading a request body raises when the body is malformed: aiohttp
#: wraps the parser's error (its ``__cause__``) in ``RequestPayloadError``.
BODY_ERRORS = (web.RequestPayloadError, HttpProcessingError)


def body_fault(exc: BaseException, content_encoding: str = "") -> str:
    """What is wrong with a body that could not be read (one of :data:`BODY_ERRORS`)."""
    if isinstance(exc, web.RequestPayloadError) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, ContentEncodingError):
        shown = content_encoding.strip()[:40]
        return "it does not decode as its Content-Encoding" + (f" ({shown})" if shown else "")
    if isinstance(exc, ContentLengthError):
        return "it is shorter than its Content-Length"
    if isinstance(exc, TransferEncodingError):
        return "its chunked transfer encoding is broken"
    return "it is malformed"


def describe(exc: HttpProcessingError) -> str:
    """The fault, in words that quote nothing the client sent."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        return "a request line or header longer than " + (
            f"{limit} bytes" if limit else "the limit"
        )
    if isinstance(exc, BadHttpMethod):
        return "an invalid method (or TLS sent to a plain-HTTP port)"
    if isinstance(exc, BadStatusLine):
        return "an invalid request line"
    if isinstance(exc, InvalidURLError):
        return "an invalid URL"
    if isinstance(exc, InvalidHeader):
        return "an invalid header"
    if isinstance(exc, PayloadEncodingError):
        return "a body that " + body_fault(exc).removeprefix("it ")
    if isinstance(exc, BadHttpMessage):
        reason = _parser_reason(exc)
        return (
            f"a malformed request ({reason[0].lower()}{reason[1:]})"
            if reason
            else ("a malformed request")
        )
    return f"an HTTP error {exc.code}"


class _JsonErrorHandler(web.RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        response = super().handle_error(request, status, exc, message)  # logs, closes
        if not isinstance(exc, HttpProcessingError):
            return response
        answer = web.Response(
            status=status,
            body=orjson.dumps({"message": f"Bad request: {describe(exc)}"}),
            content_type="application/json",
        )
        answer.force_close()
        return answer


class MalformedRequestServer(web.Server):
    """aiohttp's low-level server, answering a request it cannot parse in
    Kong's JSON shape (``{"message": "Bad request: an invalid header"}``)
    instead of aiohttp's text, which quotes the offending bytes back."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # What the per-connection protocol takes (the server's own options aside).
        self._protocol_options = {
            k: v
            for k, v in kwargs.items()
            if k not in ("request_factory", "handler_cancellation", "loop")
        }

    def __call__(self) -> web.RequestHandler:
        return _JsonErrorHandler(self, loop=asyncio.get_running_loop(), **self._protocol_options)


class MalformedRequestLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, one line per malformed request."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        fault = _parse_fault(exc_info)
        if fault is not None:
            self.logger.warning(_one_line(fault, args))
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        # aiohttp logs TLS-on-a-plain-port at debug level with the same traceback.
        fault = _parse_fault(kwargs.get("exc_info"))
        if fault is not None:
            self.logger.debug(_one_line(fault, args))
            return
        self.logger.debug(msg, *args, **kwargs)


def _parse_fault(exc: Any) -> HttpProcessingError | None:
    """The parser's error behind ``exc``: itself, or the cause of the
    ``RequestPayloadError`` aiohttp raises again when it drains a body that
    was already answered 400."""
    if isinstance(exc, web.RequestPayloadError):
        exc = exc.__cause__
    return exc if isinstance(exc, HttpProcessingError) else None


def _one_line(fault: HttpProcessingError, args: tuple[Any, ...]) -> str:
    # aiohttp passes the peer's address as the only argument when it has one.
    source = f" from {args[0]}" if len(args) == 1 and isinstance(args[0], str) else ""
    return f"malformed HTTP request{source} while reading {phase(fault)}: {describe(fault)}"
