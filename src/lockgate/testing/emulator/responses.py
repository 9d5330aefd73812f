"""JSON responses and the one exception type every emulator raises.

Validation code deep inside a provider module raises :class:`ApiError` with
the provider's exact error body; the route handler turns it into the HTTP
answer. Providers differ in body shape, not in this mechanism.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

__all__ = ["ApiError", "json_response", "read_json"]


class ApiError(Exception):
    """An HTTP error answer: status, the provider's body, extra headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> web.Response:
        return json_response(self.body, self.status, self.headers)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        headers=headers,
        content_type="application/json",
    )


async def read_json(request: web.Request) -> tuple[bytes, Any]:
    """The raw body and its parsed JSON; raises ``ValueError`` when the body is
    not JSON (each provider words that error its own way)."""
    raw = await request.read()
    try:
        return raw, orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError("invalid JSON body") from exc
