"""Upstream failures mapped to the client's error format.

The upstream's own message is kept (it is what tells the user the real cause:
a bad key, an unknown model, a context overflow); only the envelope and the
error type change. The HTTP status is kept too, because both official SDKs
choose their exception class and their retry policy by status.
"""

from __future__ import annotations

import html
import re
from typing import Any

import orjson

from lockgate.llm.wire.anthropic import anthropic_error_body
from lockgate.llm.wire.context_overflow import (
    anthropic_overflow_message,
    find_context_overflow,
    openai_overflow_message,
)
from lockgate.llm.wire.openai import openai_error_body

__all__ = [
    "UntranslatableRequest",
    "anthropic_error_type_for_error_object",
    "error_type_for_status",
    "extract_upstream_message",
    "openai_error_type_for_status",
    "upstream_error_to_anthropic",
    "upstream_error_to_openai",
]

#: Longest upstream message passed on; HTML error pages and stack traces can be huge.
MAX_MESSAGE_CHARS = 2000

_ANTHROPIC_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
    529: "overloaded_error",
}

_ANTHROPIC_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "overloaded_error",
    }
)

# Error type strings other formats use in bodies and mid-stream error objects.
_ANTHROPIC_TYPE_BY_FOREIGN_TYPE = {
    "rate_limit_exceeded": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "tokens": "rate_limit_error",
    "requests": "rate_limit_error",
    "server_error": "api_error",
    "internal_error": "api_error",
    "overloaded": "overloaded_error",
    "service_unavailable": "overloaded_error",
    "context_length_exceeded": "invalid_request_error",
    "invalid_api_key": "authentication_error",
    "model_not_found": "not_found_error",
    "limit_requests": "rate_limit_error",  # DashScope
    "ServiceUnavailable": "overloaded_error",  # DashScope
    "RESOURCE_EXHAUSTED": "rate_limit_error",
    "UNAVAILABLE": "overloaded_error",
    "INVALID_ARGUMENT": "invalid_request_error",
    "PERMISSION_DENIED": "permission_error",
    "UNAUTHENTICATED": "authentication_error",
    "NOT_FOUND": "not_found_error",
    "INTERNAL": "api_error",
}

_OPENAI_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_DROP_ELEMENTS = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def error_type_for_status(status: int) -> str:
    """The Anthropic error type for an HTTP status (what Claude Code keys its retries on)."""
    known = _ANTHROPIC_TYPE_BY_STATUS.get(status)
    if known is not None:
        return known
    return "api_error" if status >= 500 or status < 400 else "invalid_request_error"


def openai_error_type_for_status(status: int) -> str:
    """The OpenAI error type for an HTTP status (informational: the SDK maps by status)."""
    known = _OPENAI_TYPE_BY_STATUS.get(status)
    if known is not None:
        return known
    return "server_error" if status >= 500 or status < 400 else "invalid_request_error"


def anthropic_error_type_for_error_object(error: dict[str, Any], status: int = 500) -> str:
    """The Anthropic error type for an error object of any format (a body or a mid-stream chunk).

    Its ``type``, ``code`` or ``status`` string decides when it names a known
    kind; a numeric ``code`` is read as an HTTP status; otherwise ``status``.
    """
    for key in ("type", "code", "status"):
        value = error.get(key)
        if isinstance(value, str):
            if value in _ANTHROPIC_TYPES:
                return value
            mapped = _ANTHROPIC_TYPE_BY_FOREIGN_TYPE.get(value)
            if mapped is not None:
                return mapped
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
        return error_type_for_status(code)
    return error_type_for_status(status)


def _truncate(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text


def _html_text(text: str) -> str:
    """Readable text of an HTML error page (a proxy's or load balancer's), whitespace collapsed."""
    text = _DROP_ELEMENTS.sub(" ", text)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def _error_object(parsed: Any) -> dict[str, Any] | None:
    """The dict that carries the error, in any of the shapes providers use."""
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # Vertex AI wraps stream errors in a list
    if not isinstance(parsed, dict):
        return None
    inner = parsed.get("error")
    if isinstance(inner, dict):
        return inner
    return parsed


def extract_upstream_message(body: bytes) -> str:
    """The human-readable message of an upstream error body, whatever its format.

    Understands OpenAI and Gemini (``{"error": {"message"}}``), Anthropic
    (``{"type": "error", "error": {"message"}}``), DashScope's native
    ``{"code", "message"}`` (the code is prefixed: it names the cause, e.g.
    ``Arrearage``), HuggingFace's ``{"error": "..."}``, FastAPI's
    ``{"detail"}``, HTML error pages (tags stripped) and plain text. Returns ""
    for an empty body; long messages are truncated.
    """
    if not body or not body.strip():
        return ""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace")
        head = text.lstrip()[:200].lower()
        if head.startswith("<") or "<html" in head:
            return _truncate(_html_text(text))
        return _truncate(text)
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, str) and error:
            return _truncate(error)
        detail = parsed.get("detail")
        if isinstance(detail, str) and detail:
            return _truncate(detail)
    obj = _error_object(parsed)
    if obj is not None:
        message = obj.get("message")
        if isinstance(message, str) and message:
            code = obj.get("code")
            if obj is parsed and isinstance(code, str) and code and code not in message:
                return _truncate(f"{code}: {message}")
            return _truncate(message)
    if isinstance(parsed, str):
        return _truncate(parsed)
    return _truncate(body.decode("utf-8", "replace"))


def _parse(body: bytes) -> tuple[Any, dict[str, Any] | None]:
    """(the decoded body, its error object), or (None, None) when it is not JSON."""
    if not body:
        return None, None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    return parsed, _error_object(parsed)


def upstream_error_to_anthropic(status: int, body: bytes) -> tuple[int, dict[str, Any]]:
    """An upstream error response -> (status, Anthropic error body) for an Anthropic client.

    The status is kept (a non-error status becomes 502: the upstream answered
    something unusable). An Anthropic-shaped body keeps its error type. A
    context overflow reported by an OpenAI-compatible upstream is phrased the
    way Anthropic phrases it (``prompt is too long: ...``, original message
    kept) so that Claude Code recognises it and compacts
    (:mod:`lockgate.llm.wire.context_overflow`).
    """
    if status < 400:
        status = 502
    message = extract_upstream_message(body) or f"upstream returned HTTP {status}"
    parsed, obj = _parse(body)
    error_type = error_type_for_status(status)
    if isinstance(parsed, dict) and parsed.get("type") == "error" and obj is not None:
        if obj.get("type") in _ANTHROPIC_TYPES:
            error_type = obj["type"]
    elif obj is not None and status not in _ANTHROPIC_TYPE_BY_STATUS:
        error_type = anthropic_error_type_for_error_object(obj, status)
    overflow = (
        find_context_overflow(message, obj.get("code") if obj else None)
        if 400 <= status < 500
        else None
    )
    if overflow is not None:
        # Claude Code compacts only on Anthropic's 400 worded "prompt is too
        # long" (some providers answer 413 or 422 for the same fault).
        status, error_type = 400, "invalid_request_error"
        message = anthropic_overflow_message(overflow)
    return status, anthropic_error_body(error_type, message)


def upstream_error_to_openai(status: int, body: bytes) -> tuple[int, dict[str, Any]]:
    """An upstream error response -> (status, OpenAI error body) for an OpenAI client.

    The OpenAI SDK picks its exception by status, so the status is kept, except
    Anthropic's non-standard 529 (overloaded) which becomes 503 and a
    non-error status which becomes 502. An OpenAI-shaped body keeps its
    ``type``, ``code`` and ``param``; other shapes get the type of the status.
    """
    if status < 400:
        status = 502
    elif status == 529:
        status = 503
    message = extract_upstream_message(body) or f"upstream returned HTTP {status}"
    parsed, obj = _parse(body)
    error_type = openai_error_type_for_status(status)
    code: str | None = "rate_limit_exceeded" if status == 429 else None
    param: str | None = None
    anthropic_shaped = isinstance(parsed, dict) and parsed.get("type") == "error"
    if obj is not None and "message" in obj and not anthropic_shaped:
        upstream_type = obj.get("type")
        if isinstance(upstream_type, str) and upstream_type and upstream_type != "error":
            error_type = upstream_type
        upstream_code = obj.get("code")
        if isinstance(upstream_code, str) and upstream_code:
            code = upstream_code
        upstream_param = obj.get("param")
        if isinstance(upstream_param, str):
            param = upstream_param
    overflow = (
        find_context_overflow(message, obj.get("code") if obj else None)
        if 400 <= status < 500
        else None
    )
    if overflow is not None:
        # OpenAI's own shape, which clients and libraries test for.
        status, error_type, code, param = (
            400,
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        )
        message = openai_overflow_message(overflow)
    return status, openai_error_body(message, error_type, code, param)


class UntranslatableRequest(ValueError):
    """A request the upstream's format cannot carry and that the gateway
    will not change behind the client's back (an image by URL for Bedrock,
    which would need the gateway to fetch it); answered 400 in the client's
    format, with this message."""
