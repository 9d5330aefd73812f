"""The endpoints tools use to learn what the gateway accepts (Kong's
``kong/api/routes/kong.lua`` and ``plugins.lua``):

- ``GET /plugins/enabled``: ``{"enabled_plugins": [...]}``, every plugin
  this gateway can run (Kong: the ``plugins`` configuration property).
- ``GET /schemas/{entity}``: an entity's schema (``services``, ``routes``,
  ``plugins``, ``consumers``, ``keyauth_credentials``); 404 ``No entity named
  '...'`` otherwise.
- ``GET /schemas/plugins/{name}``: a plugin's schema, its ``protocols`` and
  its ``config`` record; 404 ``No plugin named '...'``.
  ``GET /plugins/schema/{name}`` (Kong's older form) answers the ``config``
  record's fields alone.
- ``POST /schemas/plugins/validate`` and ``POST /schemas/{entity}/validate``:
  the body is checked as the entity it would create, nothing is saved;
  200 ``{"message": "schema validation successful"}`` or Kong's 400 schema
  violation. As in Kong, references to other entities are not looked up.

Schemas are generated from lockgate's own pydantic models
(:mod:`lockgate.admin.kong_schema`), so they say what lockgate accepts.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lockgate.admin.kong_schema import describe_field, entity_schema, record_fields, schema_of
from lockgate.admin.request_body import read_entity_body
from lockgate.admin.responses import AdminError, json_response
from lockgate.config.entities import ENTITY_KINDS, Plugin, validate_entity
from lockgate.plugins import registry
from lockgate.plugins.registry import plugin_class, plugin_names

__all__ = ["add_schema_routes"]

_VALID = {"message": "schema validation successful"}


def _plugin_or_404(name: str) -> Any:
    cls = plugin_class(name)
    if cls is None:
        raise AdminError(404, {"message": f"No plugin named '{name}'"})
    return cls


async def _enabled(request: web.Request) -> web.Response:
    return json_response({"enabled_plugins": plugin_names()})


async def _entity_schema(request: web.Request) -> web.Response:
    name = request.match_info["entity"]
    model = ENTITY_KINDS.get(name)
    if model is None:
        raise AdminError(404, {"message": f"No entity named '{name}'"})
    return json_response(entity_schema(model))


async def _plugin_schema(request: web.Request) -> web.Response:
    cls = _plugin_or_404(request.match_info["name"])
    config = {"type": "record", "required": True, "fields": record_fields(cls.Config)}
    protocols = describe_field("protocols", Plugin.model_fields["protocols"])
    return json_response(schema_of([{"protocols": protocols}, {"config": config}]))


async def _plugin_config_schema(request: web.Request) -> web.Response:
    cls = _plugin_or_404(request.match_info["name"])
    return json_response(schema_of(record_fields(cls.Config)))


def _check(kind: str, body: dict[str, Any]) -> None:
    entity = validate_entity(kind, body)
    if kind == "plugins":
        registry.validate(entity["name"], entity.get("config"))


async def _validate_plugin(request: web.Request) -> web.Response:
    _check("plugins", await read_entity_body(request, "plugins"))
    return json_response(_VALID)


async def _validate_entity(request: web.Request) -> web.Response:
    name = request.match_info["entity"]
    if name not in ENTITY_KINDS:
        raise AdminError(404, {"message": f"No entity named '{name}'"})
    _check(name, await read_entity_body(request, name))
    return json_response(_VALID)


def add_schema_routes(app: web.Application) -> None:
    """Added before the entity routes: ``/plugins/enabled`` is not a plugin id."""
    router = app.router
    router.add_get("/plugins/enabled", _enabled, allow_head=False)
    router.add_get("/plugins/schema/{name}", _plugin_config_schema, allow_head=False)
    router.add_post("/schemas/plugins/validate", _validate_plugin)
    router.add_get("/schemas/plugins/{name}", _plugin_schema, allow_head=False)
    router.add_get("/schemas/{entity}", _entity_schema, allow_head=False)
    router.add_post("/schemas/{entity}/validate", _validate_entity)
