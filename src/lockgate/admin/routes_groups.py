"""Consumer groups beyond plain entity CRUD, in Kong's shapes
(``kong/api/routes/consumer_groups.lua`` of Kong Gateway Enterprise):

- ``GET /consumer_groups/{group}``: ``{consumer_group, plugins, consumers}``;
- ``/consumer_groups/{group}/consumers``: list, add (``{"consumer": name or
  id, or a list of them}``, 201 ``{consumer_group, consumers}``), remove all;
- ``/consumer_groups/{group}/consumers/{consumer}``: one membership (GET, DELETE);
- ``/consumers/{consumer}/consumer_groups``: the same from the consumer's side
  (``{"group": ...}``);
- ``/consumers/{consumer}/consumer_groups/{group}``: one membership.

Kong's messages: ``Group 'x' not found``, ``Consumer 'x' not found``, 409
``Consumer 'x' already in group 'y'``, ``must provide consumer``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from lockgate.admin.live_state import LiveState
from lockgate.admin.pagination import page
from lockgate.admin.request_body import (
    FORM_TYPES,
    cannot_parse_json,
    is_json,
    nest_form_pairs,
    read_form_pairs,
)
from lockgate.admin.responses import AdminError, json_response
from lockgate.config.state import GatewayState

__all__ = ["add_group_routes"]


def _group(state: GatewayState, ident: str) -> dict[str, Any]:
    found = state.find("consumer_groups", ident)
    if found is None:
        raise AdminError(404, {"message": f"Group '{ident}' not found"})
    return found


def _consumer(state: GatewayState, ident: str) -> dict[str, Any]:
    found = state.find("consumers", ident)
    if found is None:
        raise AdminError(404, {"message": f"Consumer '{ident}' not found"})
    return found


def _membership(state: GatewayState, group_id: str, consumer_id: str) -> dict[str, Any] | None:
    return next(
        (
            m
            for m in state.entities["consumer_group_consumers"].values()
            if m["consumer_group"]["id"] == group_id and m["consumer"]["id"] == consumer_id
        ),
        None,
    )


async def _names(request: web.Request, field: str) -> list[str]:
    """``field`` of the body: one name or id, or a list of them."""
    if request.content_type in FORM_TYPES:
        pairs = await read_form_pairs(request)
        values: Any = [v for k, v in pairs if k in (field, f"{field}[]")] or None
        if values is None:
            values = nest_form_pairs(pairs).get(field)
    else:
        raw = await request.read()
        body: Any = {}
        if raw.strip():
            if not (
                is_json(request.content_type) or request.content_type == "application/octet-stream"
            ):
                raise AdminError(
                    415, {"message": f"Unsupported Content-Type: {request.content_type}"}
                )
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise cannot_parse_json() from exc
        values = body.get(field) if isinstance(body, dict) else None
    if isinstance(values, str) and values:
        return [values]
    if isinstance(values, list) and values and all(isinstance(v, str) and v for v in values):
        return values
    raise AdminError(400, {"message": f"must provide {field}"})


def _drop_memberships(state: GatewayState, field: str, entity_id: str) -> None:
    """Every membership of one group (``field="consumer_group"``) or one consumer."""
    for m in list(state.entities["consumer_group_consumers"].values()):
        if m[field]["id"] == entity_id:
            state.delete("consumer_group_consumers", m["id"])


def _join(state: GatewayState, group: dict[str, Any], consumer: dict[str, Any]) -> None:
    state.put(
        "consumer_group_consumers",
        {"consumer_group": {"id": group["id"]}, "consumer": {"id": consumer["id"]}},
    )


def add_group_routes(app: web.Application, live: LiveState) -> None:
    router = app.router

    async def get_group(request: web.Request) -> web.Response:
        state = await live.read()
        group = _group(state, request.match_info["group"])
        plugins = [
            p
            for p in state.all("plugins")
            if (p.get("consumer_group") or {}).get("id") == group["id"]
        ]
        return json_response(
            {
                "consumer_group": group,
                "plugins": plugins,
                "consumers": state.members_of(group["id"]),
            }
        )

    async def list_members(request: web.Request) -> web.Response:
        state = await live.read()
        group = _group(state, request.match_info["group"])
        return json_response(
            page(
                state.members_of(group["id"]),
                request.query,
                f"/consumer_groups/{group['id']}/consumers",
            )
        )

    async def add_members(request: web.Request) -> web.Response:
        names = await _names(request, "consumer")
        ident = request.match_info["group"]

        def edit(state: GatewayState) -> dict[str, Any]:
            group = _group(state, ident)
            consumers = []
            for name in names:
                consumer = _consumer(state, name)
                if _membership(state, group["id"], consumer["id"]) is not None:
                    raise AdminError(
                        409, {"message": f"Consumer '{name}' already in group '{group['id']}'"}
                    )
                consumers.append(consumer)
            for consumer in consumers:
                _join(state, group, consumer)
            return {"consumer_group": group, "consumers": consumers}

        return json_response(await live.mutate(edit), 201)

    async def remove_members(request: web.Request) -> web.Response:
        ident = request.match_info["group"]

        def edit(state: GatewayState) -> None:
            _drop_memberships(state, "consumer_group", _group(state, ident)["id"])

        await live.mutate(edit)
        return web.Response(status=204)

    def _pair(state: GatewayState, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        consumer = _consumer(state, request.match_info["consumer"])
        group = _group(state, request.match_info["group"])
        if _membership(state, group["id"], consumer["id"]) is None:
            raise AdminError(
                404,
                {
                    "message": f"Consumer '{request.match_info['consumer']}' not found in Group "
                    f"'{request.match_info['group']}'"
                },
            )
        return group, consumer

    async def get_member(request: web.Request) -> web.Response:
        _, consumer = _pair(await live.read(), request)
        return json_response({"consumer": consumer})

    async def get_membership(request: web.Request) -> web.Response:
        group, _ = _pair(await live.read(), request)
        return json_response({"consumer_group": group})

    async def leave(request: web.Request) -> web.Response:
        def edit(state: GatewayState) -> None:
            group, consumer = _pair(state, request)
            membership = _membership(state, group["id"], consumer["id"])
            assert membership is not None
            state.delete("consumer_group_consumers", membership["id"])

        await live.mutate(edit)
        return web.Response(status=204)

    async def list_groups(request: web.Request) -> web.Response:
        state = await live.read()
        consumer = _consumer(state, request.match_info["consumer"])
        return json_response(
            page(
                state.groups_of(consumer["id"]),
                request.query,
                f"/consumers/{consumer['id']}/consumer_groups",
            )
        )

    async def join_groups(request: web.Request) -> web.Response:
        names = await _names(request, "group")
        ident = request.match_info["consumer"]

        def edit(state: GatewayState) -> dict[str, Any]:
            consumer = _consumer(state, ident)
            groups = []
            for name in names:
                group = _group(state, name)
                if _membership(state, group["id"], consumer["id"]) is not None:
                    raise AdminError(
                        409, {"message": f"Consumer '{ident}' already in group '{name}'"}
                    )
                groups.append(group)
            for group in groups:
                _join(state, group, consumer)
            return {"consumer_groups": groups, "consumer": consumer}

        return json_response(await live.mutate(edit), 201)

    async def leave_all(request: web.Request) -> web.Response:
        ident = request.match_info["consumer"]

        def edit(state: GatewayState) -> None:
            _drop_memberships(state, "consumer", _consumer(state, ident)["id"])

        await live.mutate(edit)
        return web.Response(status=204)

    router.add_get("/consumer_groups/{group}", get_group, allow_head=False)
    router.add_get("/consumer_groups/{group}/consumers", list_members, allow_head=False)
    router.add_post("/consumer_groups/{group}/consumers", add_members)
    router.add_delete("/consumer_groups/{group}/consumers", remove_members)
    router.add_get("/consumer_groups/{group}/consumers/{consumer}", get_member, allow_head=False)
    router.add_delete("/consumer_groups/{group}/consumers/{consumer}", leave)
    router.add_get("/consumers/{consumer}/consumer_groups", list_groups, allow_head=False)
    router.add_post("/consumers/{consumer}/consumer_groups", join_groups)
    router.add_delete("/consumers/{consumer}/consumer_groups", leave_all)
    router.add_get(
        "/consumers/{consumer}/consumer_groups/{group}", get_membership, allow_head=False
    )
    router.add_delete("/consumers/{consumer}/consumer_groups/{group}", leave)
