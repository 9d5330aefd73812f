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

import logging
from typing import Any

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

__all__ = ["BODY_ERRORS", "MalformedRequestLog", "body_fault", "describe", "phase"]


def phase(exc: HttpProcessingError) -> str:
    """Which part of the request could not be read."""
    if isinstance(exc, PayloadEncodingError):
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
        shown = content_encoding.strip()[:40] or "its Content-Encoding"
        return f"it does not decode as its Content-Encoding ({shown})"
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
        return "a malformed request"
    return f"an HTTP error {exc.code}"


class MalformedRequestLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, one line per malformed request."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            remote = args[0] if args else "?"
            self.logger.warning(
                "malformed HTTP request from %s while reading %s: %s",
                remote,
                phase(exc_info),
                describe(exc_info),
            )
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        # aiohttp logs TLS-on-a-plain-port at debug level with the same traceback.
        exc_info = kwargs.get("exc_info")
        if isinstance(exc_info, HttpProcessingError):
            if self.logger.isEnabledFor(logging.DEBUG):
                remote = args[0] if args else "?"
                self.logger.debug(
                    "malformed HTTP request from %s while reading %s: %s",
                    remote,
                    phase(exc_info),
                    describe(exc_info),
                )
            return
        self.logger.debug(msg, *args, **kwargs)
