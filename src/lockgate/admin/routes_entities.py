"""The entity endpoints: services, routes, plugins, consumers, key-auth keys.

Kong's semantics (``kong/api/endpoints.lua``):

- ``POST`` creates (201); a nested ``POST /services/{s}/routes`` sets the
  parent reference from the path (404 when the parent is missing).
- ``GET``/``PATCH``/``PUT``/``DELETE`` by id, or by the collection's
  endpoint key (``name``, ``username``, ``key``); a value that is neither a
  UUID nor a valid name answers 400 (plugins: only a UUID).
- ``PUT`` creates or replaces the whole entity (defaults filled again) and
  answers 200; a name in the path is the entity's name.
- ``PATCH`` merges the body into the entity; plugin ``config`` records merge
  recursively (Kong's ``Schema.merge_values``), while maps and arrays are
  replaced.
- ``DELETE`` answers 204, also when nothing was there; a service that routes
  still reference answers 400 (foreign key violation). Plugins of a deleted
  route, service or consumer, and a consumer's keys, go with it.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from aiohttp import web
from pydantic import BaseModel

from lockgate.admin.live_state import LiveState
from lockgate.admin.pagination import page
from lockgate.admin.request_body import read_entity_body
from lockgate.admin.responses import AdminError, json_response, not_found
from lockgate.config.entities import NAME_RE, is_uuid
from lockgate.config.state import GatewayState
from lockgate.plugins.registry import plugin_class

__all__ = ["add_entity_routes", "merge_records"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Collection:
    kind: str  #: the state's kind
    path: str  #: the URL segment
    endpoint_key: str | None  #: the unique field a path may name instead of the id


SERVICES = Collection("services", "services", "name")
ROUTES = Collection("routes", "routes", "name")
PLUGINS = Collection("plugins", "plugins", None)
CONSUMERS = Collection("consumers", "consumers", "username")
CONSUMER_GROUPS = Collection("consumer_groups", "consumer_groups", "name")
KEYS = Collection("keyauth_credentials", "key-auth", "key")


@dataclass(frozen=True)
class Parent:
    collection: Collection
    field: str  #: the child's reference field (``service`` for /services/{s}/routes)


def check_identifier(collection: Collection, ident: str) -> None:
    """Kong's 400 for a path segment that can name nothing."""
    if is_uuid(ident):
        return
    if collection.endpoint_key is None:
        raise AdminError(
            400,
            {
                "code": 1,
                "name": "invalid primary key",
                "message": "invalid primary key: '{id=\"expected a valid UUID\"}'",
                "fields": {"id": "expected a valid UUID"},
            },
        )
    if collection.endpoint_key == "name" and not NAME_RE.match(ident):
        raise AdminError(
            400,
            {
                "code": 10,
                "name": "invalid unique name",
                "message": f"invalid value '{ident}': the only accepted ascii characters are "
                "alphanumerics or ., -, _, and ~",
            },
        )


def lookup(state: GatewayState, collection: Collection, ident: str) -> dict[str, Any] | None:
    if is_uuid(ident):
        return state.entities[collection.kind].get(ident)
    key = collection.endpoint_key
    if key is None:
        return None
    return next((e for e in state.all(collection.kind) if e.get(key) == ident), None)


def _record_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    field = model.model_fields.get(key)
    annotation: Any = field.annotation if field else None
    while get_origin(annotation) in (Annotated, Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is not Annotated and len(options) != 1:
            return None
        annotation = options[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def merge_records(
    base: dict[str, Any], top: dict[str, Any], model: type[BaseModel] | None
) -> dict[str, Any]:
    """``top`` over ``base``: records (sub-models) merge, everything else is replaced."""
    out = dict(base)
    for key, value in top.items():
        sub = _record_model(model, key) if model is not None else None
        if sub is not None and isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merge_records(base[key], value, sub)
        else:
            out[key] = value
    return out


def _belongs(entity: dict[str, Any], parent: Parent | None, owner: dict[str, Any] | None) -> bool:
    if parent is None or owner is None:
        return True
    return bool((entity.get(parent.field) or {}).get("id") == owner["id"])


class EntityEndpoints:
    def __init__(self, live: LiveState) -> None:
        self.live = live

    # -- helpers -------------------------------------------------------------------

    def _parent(self, state: GatewayState, parent: Parent, ident: str) -> dict[str, Any]:
        check_identifier(parent.collection, ident)
        found = lookup(state, parent.collection, ident)
        if found is None:
            raise not_found()
        return found

    # -- collections -----------------------------------------------------------------

    async def list(
        self, request: web.Request, collection: Collection, parent: Parent | None
    ) -> web.Response:
        state = await self.live.read()
        entities = state.all(collection.kind)
        base = f"/{collection.path}"
        if parent is not None:
            owner = self._parent(state, parent, request.match_info["parent"])
            entities = [e for e in entities if _belongs(e, parent, owner)]
            base = f"/{parent.collection.path}/{owner['id']}/{collection.path}"
        if collection is CONSUMERS and "custom_id" in request.query:
            entities = [e for e in entities if e.get("custom_id") == request.query["custom_id"]]
        return json_response(page(entities, request.query, base))

    async def create(
        self, request: web.Request, collection: Collection, parent: Parent | None
    ) -> web.Response:
        body = await read_entity_body(request, collection.kind)

        def edit(state: GatewayState) -> dict[str, Any]:
            if parent is not None:
                owner = self._parent(state, parent, request.match_info["parent"])
                body[parent.field] = {"id": owner["id"]}
            eid = body.get("id")
            if isinstance(eid, str) and eid in state.entities[collection.kind]:
                raise AdminError(
                    400,
                    {
                        "code": 3,
                        "name": "primary key violation",
                        "message": f"primary key violation on key '{{id=\"{eid}\"}}'",
                        "fields": {"id": eid},
                    },
                )
            return state.put(collection.kind, body)

        return json_response(await self.live.mutate(edit), 201)

    # -- one entity ----------------------------------------------------------------------

    async def get(
        self, request: web.Request, collection: Collection, parent: Parent | None
    ) -> web.Response:
        ident = request.match_info["ident"]
        state = await self.live.read()
        owner = self._parent(state, parent, request.match_info["parent"]) if parent else None
        check_identifier(collection, ident)
        found = lookup(state, collection, ident)
        if found is None or not _belongs(found, parent, owner):
            raise not_found()
        return json_response(found)

    async def put(self, request: web.Request, collection: Collection) -> web.Response:
        ident = request.match_info["ident"]
        check_identifier(collection, ident)
        body = await read_entity_body(request, collection.kind)

        def edit(state: GatewayState) -> dict[str, Any]:
            data = dict(body)
            if is_uuid(ident):
                data["id"] = ident
            elif collection.endpoint_key:
                data[collection.endpoint_key] = ident
            return state.put(collection.kind, data, existing=lookup(state, collection, ident))

        return json_response(await self.live.mutate(edit))

    async def patch(self, request: web.Request, collection: Collection) -> web.Response:
        ident = request.match_info["ident"]
        check_identifier(collection, ident)
        current = lookup(await self.live.read(), collection, ident)
        plugin_name = current.get("name") if current and collection is PLUGINS else None
        body = await read_entity_body(request, collection.kind, plugin_name=plugin_name)

        def edit(state: GatewayState) -> dict[str, Any]:
            existing = lookup(state, collection, ident)
            if existing is None:
                raise not_found()
            changes = dict(body)
            if collection is PLUGINS and isinstance(changes.get("config"), dict):
                name = changes.get("name") or existing["name"]
                cls = plugin_class(name) if isinstance(name, str) else None
                changes["config"] = merge_records(
                    existing.get("config") or {}, changes["config"], cls.Config if cls else None
                )
            return state.patch(collection.kind, existing["id"], changes)

        return json_response(await self.live.mutate(edit))

    async def delete(
        self, request: web.Request, collection: Collection, parent: Parent | None
    ) -> web.Response:
        ident = request.match_info["ident"]
        check_identifier(collection, ident)

        def compute(state: GatewayState) -> tuple[GatewayState | None, None]:
            owner = self._parent(state, parent, request.match_info["parent"]) if parent else None
            found = lookup(state, collection, ident)
            if found is None or not _belongs(found, parent, owner):
                return None, None
            new = state.copy()
            new.delete(collection.kind, found["id"])
            return new, None

        await self.live.change(compute)
        return web.Response(status=204)


def add_entity_routes(app: web.Application, live: LiveState) -> None:
    api = EntityEndpoints(live)
    router = app.router

    def collection_routes(path: str, collection: Collection, parent: Parent | None = None) -> None:
        async def list_(request: web.Request) -> web.Response:
            return await api.list(request, collection, parent)

        async def create(request: web.Request) -> web.Response:
            return await api.create(request, collection, parent)

        router.add_get(path, list_, allow_head=False)
        router.add_post(path, create)

    def entity_routes(
        path: str, collection: Collection, parent: Parent | None = None, *, get_route: bool = True
    ) -> None:
        async def get(request: web.Request) -> web.Response:
            return await api.get(request, collection, parent)

        async def put(request: web.Request) -> web.Response:
            return await api.put(request, collection)

        async def patch(request: web.Request) -> web.Response:
            return await api.patch(request, collection)

        async def delete(request: web.Request) -> web.Response:
            return await api.delete(request, collection, parent)

        if get_route:
            router.add_get(path, get, allow_head=False)
        if parent is None:
            router.add_put(path, put)
            router.add_patch(path, patch)
        router.add_delete(path, delete)

    collection_routes("/services", SERVICES)
    entity_routes("/services/{ident}", SERVICES)
    collection_routes("/services/{parent}/routes", ROUTES, Parent(SERVICES, "service"))
    collection_routes("/services/{parent}/plugins", PLUGINS, Parent(SERVICES, "service"))
    collection_routes("/routes", ROUTES)
    entity_routes("/routes/{ident}", ROUTES)
    collection_routes("/routes/{parent}/plugins", PLUGINS, Parent(ROUTES, "route"))
    collection_routes("/plugins", PLUGINS)
    entity_routes("/plugins/{ident}", PLUGINS)
    collection_routes("/consumers", CONSUMERS)
    entity_routes("/consumers/{ident}", CONSUMERS)
    collection_routes("/consumers/{parent}/key-auth", KEYS, Parent(CONSUMERS, "consumer"))
    entity_routes("/consumers/{parent}/key-auth/{ident}", KEYS, Parent(CONSUMERS, "consumer"))
    collection_routes("/consumer_groups", CONSUMER_GROUPS)
    # GET of one group answers Kong's {consumer_group, plugins, consumers}: routes_groups.
    entity_routes("/consumer_groups/{ident}", CONSUMER_GROUPS, get_route=False)
    collection_routes(
        "/consumer_groups/{parent}/plugins", PLUGINS, Parent(CONSUMER_GROUPS, "consumer_group")
    )
