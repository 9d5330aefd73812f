"""``POST /config`` (a whole declarative file) and ``GET /config``.

``POST /config`` takes a decK/Kong declarative file as the body: JSON, YAML,
``{"config": "<JSON or YAML text>"}``, or the form/multipart field
``config``. Kong's semantics: the file replaces the whole configuration.
Nothing changes unless the whole file is valid; an invalid file answers 400
(code 14, ``invalid declarative configuration``) with ``fields`` keyed by the
failing entity's path (``services[0].routes[1]``) and Kong's
``flattened_errors``. ``${{ env "DECK_X" }}`` placeholders are substituted by
the client (the CLI), never from the server's environment: one left in the
file is an error.

lockgate extensions (used by ``lockgate gateway``):

- ``?mode=sync`` (default, Kong's behaviour) or ``?mode=apply``: create and
  update what the file names, delete nothing (decK's ``apply``).
- ``?dry_run=true``: validate and describe the changes, save nothing
  (decK's ``diff``); answers 200 instead of 201.
- The answer is ``{"changes": [...], "version": N}``: each change as
  :mod:`lockgate.admin.config_changes` describes it, and the configuration
  version now in force (unchanged when nothing changed: a file equal to the
  configuration saves no new version).
- ``GET /config`` answers ``{"config": <decK file>, "version": N}``
  (``lockgate gateway dump``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from lockgate.admin.config_changes import describe_changes, keep_unchanged
from lockgate.admin.config_check import check_declarative, declarative_error_body, parse_error_body
from lockgate.admin.live_state import LiveState
from lockgate.admin.request_body import FORM_TYPES, cannot_parse_json, is_json, read_form_pairs
from lockgate.admin.responses import AdminError, invalid_options, json_response
from lockgate.config.declarative import DeclarativeError, flatten, parse_document
from lockgate.config.errors import ConfigError
from lockgate.config.state import GatewayState

__all__ = ["add_config_routes"]

_SOURCE = "config"
_PREFIX = f"{_SOURCE}: "
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")


async def _declarative_text(request: web.Request) -> str:
    if request.content_type in FORM_TYPES:
        fields = dict(await read_form_pairs(request))
        if "config" not in fields:
            raise AdminError(
                400,
                parse_error_body(
                    DeclarativeError(_SOURCE, "expected the file in the form field 'config'")
                ),
            )
        return fields["config"]
    raw = await request.read()
    if is_json(request.content_type):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise cannot_parse_json() from exc
        if isinstance(data, dict) and "_format_version" not in data and "config" in data:
            inner = data["config"]
            return inner if isinstance(inner, str) else orjson.dumps(inner).decode()
    return raw.decode("utf-8", "replace")


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid_options(name, "expected a boolean")


def _apply_errors(exc: ConfigError) -> dict[str, Any]:
    return exc.fields or {"@entity": [exc.message]}


def add_config_routes(app: web.Application, live: LiveState) -> None:
    async def post_config(request: web.Request) -> web.Response:
        mode = request.query.get("mode", "sync")
        if mode not in ("sync", "apply"):
            raise invalid_options("mode", "expected one of: sync, apply")
        dry_run = _flag(request, "dry_run")
        text = await _declarative_text(request)
        try:
            decl = flatten(parse_document(text, _SOURCE, {}), _SOURCE)
        except DeclarativeError as exc:
            raise AdminError(400, parse_error_body(exc)) from exc
        sync = mode == "sync"

        def compute(current: GatewayState) -> tuple[GatewayState | None, list[dict[str, Any]]]:
            errors = check_declarative(decl, existing=None if sync else current)
            if errors:
                raise AdminError(400, declarative_error_body(errors, decl, strip=_PREFIX))
            try:
                new = current.apply(decl, sync=sync)
            except ConfigError as exc:
                body = declarative_error_body(_apply_errors(exc), decl, strip=_PREFIX)
                raise AdminError(400, body) from exc
            keep_unchanged(current, new)
            changes = describe_changes(current, new)
            return (None if dry_run or not changes else new), changes

        changes = await live.change(compute)
        return json_response({"changes": changes, "version": live.version}, 200 if dry_run else 201)

    async def get_config(request: web.Request) -> web.Response:
        state = await live.read()
        return json_response({"config": state.dump(), "version": live.version})

    app.router.add_post("/config", post_config)
    app.router.add_get("/config", get_config, allow_head=False)
