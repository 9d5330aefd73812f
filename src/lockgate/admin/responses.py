"""Admin API answers in Kong's shapes.

Kong's error bodies (``kong/db/errors.lua``, ``kong/api/endpoints.lua``):

- 400 schema violation ``{"code": 2, "name": "schema violation", "message", "fields"}``
- 400 foreign key violation (code 4), 409 unique constraint violation (code 5)
- 400 invalid primary key (code 1), invalid offset (7), invalid size (9),
  invalid unique name (10), invalid options (11, with ``options`` instead of
  ``fields``), invalid declarative configuration (14)
- 404 ``{"message": "Not found"}``, 405 ``{"message": "Method not allowed"}``

:class:`AdminError` carries one such answer; the app's middleware turns it
(and every :class:`~lockgate.config.errors.ConfigError`) into a response.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from lockgate.config.errors import ConfigError, ForeignKeyError, NotFoundError, UniqueError

__all__ = [
    "AdminError",
    "config_error_response",
    "invalid_options",
    "json_response",
    "kong_fields",
    "not_found",
]

#: Kong's JSON encoder (lua-cjson) writes a table with integer keys as an array
#: unless it is "excessively sparse": its largest index above this and above
#: twice the number of entries.
_SPARSE_SAFE = 10


def json_response(body: Any, status: int = 200) -> web.Response:
    # Error bodies echo what the client sent; a YAML file may have had integer keys.
    payload = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    return web.Response(body=payload, status=status, content_type="application/json")


def kong_fields(node: Any) -> Any:
    """Error ``fields`` as Kong writes them: a list item's error sits at its
    position in an array (``{"paths": [null, "expected a string"]}``) and any
    other key is a string."""
    if isinstance(node, list):
        return [kong_fields(item) for item in node]
    if not isinstance(node, dict):
        return node
    indexes = [k for k in node if isinstance(k, int) and not isinstance(k, bool) and k >= 0]
    if node and len(indexes) == len(node):
        top = max(indexes)
        if top <= _SPARSE_SAFE or top < 2 * len(indexes):
            out: list[Any] = [None] * (top + 1)
            for index in indexes:
                out[index] = kong_fields(node[index])
            return out
    return {str(k): kong_fields(v) for k, v in node.items()}


def _with_kong_fields(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body.get("fields"), dict):
        return {**body, "fields": kong_fields(body["fields"])}
    return body


class AdminError(Exception):
    """An answer other than success: ``status`` and Kong's JSON ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body

    def response(self) -> web.Response:
        return json_response(_with_kong_fields(self.body), self.status)


def not_found() -> AdminError:
    return AdminError(404, {"message": "Not found"})


def invalid_options(option: str, message: str) -> AdminError:
    """Kong's code 11: the bad option is named under ``options``, not ``fields``."""
    return AdminError(
        400,
        {
            "code": 11,
            "name": "invalid options",
            "message": f"invalid option ({option}: {message})",
            "options": {option: message},
        },
    )


def config_error_response(exc: ConfigError) -> web.Response:
    """A :class:`ConfigError` from the state -> Kong's status and body."""
    if isinstance(exc, NotFoundError):
        return not_found().response()
    status = 409 if isinstance(exc, UniqueError) else 400
    body = exc.body()
    if isinstance(exc, ForeignKeyError | UniqueError) and "fields" not in body:
        body["fields"] = {}
    return json_response(_with_kong_fields(body), status)
