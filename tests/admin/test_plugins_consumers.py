"""Plugins (global and scoped), consumers and their key-auth keys."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient

FILE_LOG = {"name": "file-log", "config": {"path": "/tmp/x.json"}}


async def _json(
    client: TestClient, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    resp = await client.request(method, path, json=body)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _service_and_route(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    service = await _json(
        client, "POST", "/services", {"name": "s", "url": "http://up.example"}, 201
    )
    route = await _json(client, "POST", "/services/s/routes", {"name": "r", "paths": ["/r"]}, 201)
    return service, route


async def test_global_plugin(client: TestClient, spec: Any) -> None:
    plugin = await _json(client, "POST", "/plugins", FILE_LOG, 201)
    spec.check("post", "/plugins", 201, plugin)
    spec.check_entity("Plugin", plugin)
    assert plugin["config"]["path"] == "/tmp/x.json"
    assert (plugin["service"], plugin["route"], plugin["consumer"], plugin["enabled"]) == (
        None,
        None,
        None,
        True,
    )
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]
    got = await _json(client, "GET", f"/plugins/{plugin['id']}")
    spec.check("get", "/plugins/{PluginId}", 200, got)
    assert got == plugin


async def test_second_plugin_in_the_same_scope_is_409(client: TestClient, spec: Any) -> None:
    await _json(client, "POST", "/plugins", FILE_LOG, 201)
    body = await _json(client, "POST", "/plugins", FILE_LOG, 409)
    spec.check("post", "/plugins", 409, body)
    assert body["code"] == 5
    _, route = await _service_and_route(client)
    scoped = await _json(client, "POST", "/routes/r/plugins", FILE_LOG, 201)  # another scope: fine
    assert scoped["route"] == {"id": route["id"]}


async def test_plugin_errors(client: TestClient, spec: Any) -> None:
    body = await _json(client, "POST", "/plugins", {"name": "no-such-plugin"}, 400)
    assert body["code"] == 2 and "no-such-plugin" in body["fields"]["name"]
    body = await _json(
        client,
        "POST",
        "/plugins",
        {"name": "file-log", "config": {"path": "/tmp/x", "bogus": 1}},
        400,
    )
    assert body["fields"] == {"config": {"bogus": "unknown field"}}
    body = await _json(client, "POST", "/plugins", {"name": "file-log", "config": {}}, 400)
    assert "path" in body["fields"]["config"]
    body = await _json(
        client,
        "POST",
        "/plugins",
        {"name": "ai-proxy", "config": {"model": {"provider": "nope"}}},
        400,
    )
    assert "provider" in body["fields"]["config"]["model"]
    body = await _json(client, "GET", "/plugins/not-a-uuid", status=400)
    spec.check("get", "/plugins/{PluginId}", 400, body)
    assert body["code"] == 1 and body["fields"] == {"id": "expected a valid UUID"}
    assert (await client.delete("/plugins/not-a-uuid")).status == 400
    assert await _json(client, "GET", f"/plugins/{uuid.uuid4()}", status=404) == {
        "message": "Not found"
    }


async def test_nested_plugin_lists(client: TestClient, spec: Any) -> None:
    service, route = await _service_and_route(client)
    on_service = await _json(client, "POST", "/services/s/plugins", FILE_LOG, 201)
    spec.check("post", "/services/{ServiceIdOrName}/plugins", 201, on_service)
    on_route = await _json(client, "POST", f"/routes/{route['id']}/plugins", FILE_LOG, 201)
    spec.check("post", "/routes/{RouteIdOrName}/plugins", 201, on_route)
    await _json(client, "POST", "/plugins", FILE_LOG, 201)
    assert on_service["service"] == {"id": service["id"]} and on_route["route"] == {
        "id": route["id"]
    }
    listed = await _json(client, "GET", "/services/s/plugins")
    spec.check("get", "/services/{ServiceIdOrName}/plugins", 200, listed)
    assert [p["id"] for p in listed["data"]] == [on_service["id"]]
    listed = await _json(client, "GET", "/routes/r/plugins")
    spec.check("get", "/routes/{RouteIdOrName}/plugins", 200, listed)
    assert [p["id"] for p in listed["data"]] == [on_route["id"]]
    assert len((await _json(client, "GET", "/plugins"))["data"]) == 3
    assert await _json(client, "GET", "/routes/nope/plugins", status=404) == {
        "message": "Not found"
    }


async def test_patch_plugin_config_merges(client: TestClient, spec: Any) -> None:
    plugin = await _json(client, "POST", "/plugins", FILE_LOG, 201)
    patched = await _json(
        client,
        "PATCH",
        f"/plugins/{plugin['id']}",
        {"config": {"path": "/tmp/y.json"}, "enabled": False},
    )
    spec.check("patch", "/plugins/{PluginId}", 200, patched)
    assert patched["config"] == {**plugin["config"], "path": "/tmp/y.json"}
    assert patched["enabled"] is False and patched["created_at"] == plugin["created_at"]


async def test_put_plugin_by_id(client: TestClient, spec: Any) -> None:
    pid = str(uuid.uuid4())
    plugin = await _json(client, "PUT", f"/plugins/{pid}", FILE_LOG)
    spec.check("put", "/plugins/{PluginId}", 200, plugin)
    assert plugin["id"] == pid
    replaced = await _json(
        client,
        "PUT",
        f"/plugins/{pid}",
        {"name": "file-log", "config": {"path": "/tmp/z"}, "enabled": False},
    )
    assert replaced["config"]["path"] == "/tmp/z" and replaced["enabled"] is False
    assert (await _json(client, "PUT", "/plugins/not-a-uuid", FILE_LOG, 400))["code"] == 1


async def test_deleting_a_route_deletes_its_plugins(client: TestClient) -> None:
    _, route = await _service_and_route(client)
    on_route = await _json(client, "POST", "/routes/r/plugins", FILE_LOG, 201)
    on_service = await _json(client, "POST", "/services/s/plugins", FILE_LOG, 201)
    assert (await client.delete(f"/routes/{route['id']}")).status == 204
    assert await _json(client, "GET", f"/plugins/{on_route['id']}", status=404) == {
        "message": "Not found"
    }
    assert (await _json(client, "GET", f"/plugins/{on_service['id']}"))["id"] == on_service["id"]
    assert (await client.delete("/services/s")).status == 204
    assert (await _json(client, "GET", "/plugins"))["data"] == []


async def test_consumers(client: TestClient, spec: Any) -> None:
    consumer = await _json(
        client, "POST", "/consumers", {"username": "alice", "tags": ["team-a"]}, 201
    )
    spec.check("post", "/consumers", 201, consumer)
    spec.check_entity("Consumer", consumer)
    assert consumer["custom_id"] is None
    assert await _json(client, "GET", "/consumers/alice") == consumer
    spec.check("get", "/consumers/{ConsumerIdOrUsername}", 200, consumer)
    body = await _json(client, "POST", "/consumers", {"username": "alice"}, 409)
    spec.check("post", "/consumers", 409, body)
    body = await _json(client, "POST", "/consumers", {"tags": ["x"]}, 400)
    assert body["code"] == 2
    patched = await _json(client, "PATCH", "/consumers/alice", {"custom_id": "A-1"})
    spec.check("patch", "/consumers/{ConsumerIdOrUsername}", 200, patched)
    listed = await _json(client, "GET", "/consumers?custom_id=A-1")
    spec.check("get", "/consumers", 200, listed)
    assert [c["id"] for c in listed["data"]] == [consumer["id"]]
    assert (await _json(client, "GET", "/consumers?custom_id=B"))["data"] == []
    put = await _json(client, "PUT", "/consumers/bob", {})
    spec.check("put", "/consumers/{ConsumerIdOrUsername}", 200, put)
    assert put["username"] == "bob"


async def test_key_auth_credentials(client: TestClient, spec: Any) -> None:
    consumer = await _json(client, "POST", "/consumers", {"username": "alice"}, 201)
    generated = await _json(client, "POST", "/consumers/alice/key-auth", None, 201)
    spec.check("post", "/consumers/{ConsumerIdForNestedEntities}/key-auth", 201, generated)
    spec.check_entity("KeyAuth", generated)
    assert generated["consumer"] == {"id": consumer["id"]} and len(generated["key"]) >= 16
    chosen = await _json(
        client, "POST", f"/consumers/{consumer['id']}/key-auth", {"key": "secret-1"}, 201
    )
    body = await _json(client, "POST", "/consumers/alice/key-auth", {"key": "secret-1"}, 409)
    spec.check("post", "/consumers/{ConsumerIdForNestedEntities}/key-auth", 409, body)
    listed = await _json(client, "GET", "/consumers/alice/key-auth")
    spec.check("get", "/consumers/{ConsumerIdForNestedEntities}/key-auth", 200, listed)
    assert {k["id"] for k in listed["data"]} == {generated["id"], chosen["id"]}
    assert (await _json(client, "GET", "/consumers/alice/key-auth/secret-1"))["id"] == chosen["id"]
    assert (await _json(client, "GET", f"/consumers/alice/key-auth/{generated['id']}"))[
        "key"
    ] == generated["key"]
    assert await _json(client, "GET", "/consumers/nobody/key-auth", status=404) == {
        "message": "Not found"
    }
    await _json(client, "POST", "/consumers/nobody/key-auth", {}, 404)
    await _json(client, "POST", "/consumers", {"username": "bob"}, 201)
    await _json(client, "GET", "/consumers/bob/key-auth/secret-1", status=404)  # not bob's
    assert (await client.delete("/consumers/alice/key-auth/secret-1")).status == 204
    await _json(client, "GET", "/consumers/alice/key-auth/secret-1", status=404)
    assert (await client.delete("/consumers/alice")).status == 204  # its keys go with it
    assert (await _json(client, "POST", "/consumers/bob/key-auth", {"key": generated["key"]}, 201))[
        "key"
    ] == generated["key"]


def test_patch_merge_follows_kong_merge_values() -> None:
    from pydantic import BaseModel

    from lockgate.admin.routes_entities import merge_records

    class Options(BaseModel):
        max_tokens: int | None = None
        temperature: float | None = None

    class Model(BaseModel):
        provider: str
        name: str | None = None
        options: Options | None = None

    class Config(BaseModel):
        model: Model
        headers: dict[str, str] | None = None
        keys: list[str] = []

    base = {
        "model": {
            "provider": "openai",
            "name": "a",
            "options": {"max_tokens": 5, "temperature": 1.0},
        },
        "headers": {"x-a": "1", "x-b": "2"},
        "keys": ["k1", "k2"],
    }
    top = {
        "model": {"name": "b", "options": {"max_tokens": 9}},
        "headers": {"x-c": "3"},
        "keys": ["k3"],
    }
    assert merge_records(base, top, Config) == {
        "model": {
            "provider": "openai",
            "name": "b",
            "options": {"max_tokens": 9, "temperature": 1.0},
        },
        "headers": {"x-c": "3"},  # maps are replaced
        "keys": ["k3"],  # arrays are replaced
    }
    assert merge_records(base, {"model": None}, Config)["model"] is None
    assert merge_records(base, top, None)["model"] == top["model"]  # unknown schema: shallow
