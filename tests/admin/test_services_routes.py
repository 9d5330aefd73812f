"""Services and routes: Kong's answers for every operation and status code."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

SERVICE = {"name": "example-service", "url": "http://httpbin.konghq.com/anything"}


async def _json(
    client: TestClient, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    resp = await client.request(method, path, json=body)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


async def test_create_service_answers_201_with_every_field(client: TestClient, spec: Any) -> None:
    body = await _json(client, "POST", "/services", SERVICE, 201)
    spec.check("post", "/services", 201, body)
    spec.check_entity("Service", body)
    assert "url" not in body  # write-only
    assert (body["protocol"], body["host"], body["port"], body["path"]) == (
        "http",
        "httpbin.konghq.com",
        80,
        "/anything",
    )
    assert (
        body["retries"],
        body["connect_timeout"],
        body["read_timeout"],
        body["write_timeout"],
    ) == (5, 60000, 60000, 60000)
    assert body["tags"] is None and body["tls_verify"] is None
    assert uuid.UUID(body["id"]) and isinstance(body["created_at"], int)


async def test_https_url_defaults_to_port_443(client: TestClient) -> None:
    body = await _json(client, "POST", "/services", {"url": "https://example.org"}, 201)
    assert (body["protocol"], body["port"], body["path"], body["name"]) == (
        "https",
        443,
        None,
        None,
    )


async def test_get_service_by_id_and_by_name(client: TestClient, spec: Any) -> None:
    created = await _json(client, "POST", "/services", SERVICE, 201)
    by_id = await _json(client, "GET", f"/services/{created['id']}")
    by_name = await _json(client, "GET", "/services/example-service")
    assert by_id == by_name == created
    spec.check("get", "/services/{ServiceIdOrName}", 200, by_name)


async def test_missing_service_is_404_not_found(client: TestClient, spec: Any) -> None:
    for path in ("/services/nope", f"/services/{uuid.uuid4()}"):
        body = await _json(client, "GET", path, status=404)
        assert body == {"message": "Not found"}
        spec.check("get", "/services/{ServiceIdOrName}", 404, body)
    body = await _json(client, "PATCH", "/services/nope", {"retries": 1}, 404)
    assert body == {"message": "Not found"}


async def test_invalid_name_in_path_is_400(client: TestClient, spec: Any) -> None:
    body = await _json(client, "GET", "/services/not%20a%20name", status=400)
    assert body["code"] == 10 and body["name"] == "invalid unique name"
    spec.check("get", "/services/{ServiceIdOrName}", 400, body)
    body = await _json(client, "DELETE", "/services/not%20a%20name", status=400)
    assert body["code"] == 10


async def test_schema_violation_names_the_fields(client: TestClient, spec: Any) -> None:
    body = await _json(
        client, "POST", "/services", {"name": "s", "protocol": "gopher", "host": "h"}, 400
    )
    spec.check("post", "/services", 400, body)
    assert body["code"] == 2 and body["name"] == "schema violation"
    assert "protocol" in body["fields"] and body["message"].startswith("schema violation (")
    body = await _json(client, "POST", "/services", {"name": "s"}, 400)
    assert body["fields"] == {"host": "required field missing"}
    body = await _json(client, "POST", "/services", {"host": "h", "nonsense": 1}, 400)
    assert body["fields"] == {"nonsense": "unknown field"}


async def test_duplicate_name_is_409(client: TestClient, spec: Any) -> None:
    await _json(client, "POST", "/services", SERVICE, 201)
    body = await _json(client, "POST", "/services", SERVICE, 409)
    spec.check("post", "/services", 409, body)
    assert body["code"] == 5 and body["name"] == "unique constraint violation"
    assert "name" in body["fields"]


async def test_post_with_an_existing_id_is_a_primary_key_violation(client: TestClient) -> None:
    created = await _json(client, "POST", "/services", SERVICE, 201)
    body = await _json(client, "POST", "/services", {"id": created["id"], "host": "other"}, 400)
    assert body["code"] == 3
    assert (await _json(client, "GET", f"/services/{created['id']}"))[
        "host"
    ] == "httpbin.konghq.com"


async def test_patch_merges_and_url_replaces_the_parts(client: TestClient, spec: Any) -> None:
    created = await _json(client, "POST", "/services", SERVICE, 201)
    body = await _json(client, "PATCH", "/services/example-service", {"retries": 2})
    spec.check("patch", "/services/{ServiceIdOrName}", 200, body)
    assert (
        body["retries"] == 2
        and body["host"] == "httpbin.konghq.com"
        and body["created_at"] == created["created_at"]
    )
    body = await _json(
        client, "PATCH", f"/services/{created['id']}", {"url": "https://example.org:8443/v1"}
    )
    assert (body["protocol"], body["host"], body["port"], body["path"], body["retries"]) == (
        "https",
        "example.org",
        8443,
        "/v1",
        2,
    )
    body = await _json(client, "PATCH", "/services/example-service", {"port": 70000}, 400)
    assert "port" in body["fields"]


async def test_put_creates_by_name_then_replaces_whole_entity(
    client: TestClient, spec: Any
) -> None:
    created = await _json(client, "PUT", "/services/by-put", {"host": "a.example", "retries": 1})
    spec.check("put", "/services/{ServiceIdOrName}", 200, created)
    assert created["name"] == "by-put" and created["retries"] == 1
    replaced = await _json(client, "PUT", "/services/by-put", {"host": "b.example"})
    assert replaced["id"] == created["id"] and replaced["host"] == "b.example"
    assert replaced["retries"] == 5  # a PUT fills the defaults again
    new_id = str(uuid.uuid4())
    by_id = await _json(client, "PUT", f"/services/{new_id}", {"host": "c.example", "name": "c"})
    assert by_id["id"] == new_id and by_id["name"] == "c"
    body = await _json(client, "PUT", "/services/third", {"host": "d", "name": "ignored"})
    assert body["name"] == "third"  # the path names the entity


async def test_delete_is_204_also_when_missing(client: TestClient) -> None:
    await _json(client, "POST", "/services", SERVICE, 201)
    resp = await client.delete("/services/example-service")
    assert resp.status == 204 and await resp.read() == b""
    assert (await client.delete("/services/example-service")).status == 204
    assert (await client.delete(f"/services/{uuid.uuid4()}")).status == 204
    await _json(client, "GET", "/services/example-service", status=404)


async def test_nested_route_create_sets_the_service(client: TestClient, spec: Any) -> None:
    service = await _json(client, "POST", "/services", SERVICE, 201)
    route = await _json(
        client,
        "POST",
        "/services/example-service/routes",
        {"name": "example-route", "paths": ["/anything"]},
        201,
    )
    spec.check("post", "/services/{ServiceIdOrName}/routes", 201, route)
    spec.check_entity("Route", route)
    assert route["service"] == {"id": service["id"]}
    assert (route["strip_path"], route["preserve_host"], route["protocols"]) == (
        True,
        False,
        ["http", "https"],
    )
    listed = await _json(client, "GET", f"/services/{service['id']}/routes")
    spec.check("get", "/services/{ServiceIdOrName}/routes", 200, listed)
    assert [r["id"] for r in listed["data"]] == [route["id"]] and listed["next"] is None
    missing = await _json(client, "GET", "/services/nope/routes", status=404)
    assert missing == {"message": "Not found"}
    await _json(client, "POST", "/services/nope/routes", {"paths": ["/x"]}, 404)


async def test_top_level_route_with_service_reference(client: TestClient) -> None:
    service = await _json(client, "POST", "/services", SERVICE, 201)
    route = await _json(
        client,
        "POST",
        "/routes",
        {"name": "r", "paths": ["/a"], "service": {"id": service["id"]}},
        201,
    )
    assert route["service"] == {"id": service["id"]}
    body = await _json(
        client, "POST", "/routes", {"paths": ["/b"], "service": {"id": str(uuid.uuid4())}}, 400
    )
    assert body["code"] == 4 and body["name"] == "foreign key violation"


async def test_route_validation_errors(client: TestClient) -> None:
    body = await _json(client, "POST", "/routes", {"paths": ["~/(unclosed"]}, 400)
    assert "paths" in body["fields"] and "regex" in str(body["fields"]["paths"])
    body = await _json(client, "POST", "/routes", {"name": "r"}, 400)
    assert body["code"] == 2 and "methods" in body["message"]


async def test_delete_service_still_referenced_is_400(client: TestClient, spec: Any) -> None:
    await _json(client, "POST", "/services", SERVICE, 201)
    await _json(
        client, "POST", "/services/example-service/routes", {"name": "r", "paths": ["/a"]}, 201
    )
    body = await _json(client, "DELETE", "/services/example-service", status=400)
    spec.check("delete", "/services/{ServiceIdOrName}", 400, body)
    assert body["code"] == 4 and body["fields"] == {"@referenced_by": "routes"}
    assert (await client.delete("/routes/r")).status == 204
    assert (await client.delete("/services/example-service")).status == 204


async def test_route_put_patch_by_name(client: TestClient, spec: Any) -> None:
    route = await _json(client, "PUT", "/routes/by-name", {"paths": ["/p"]})
    spec.check("put", "/routes/{RouteIdOrName}", 200, route)
    assert route["name"] == "by-name" and route["service"] is None
    patched = await _json(client, "PATCH", "/routes/by-name", {"strip_path": False})
    spec.check("patch", "/routes/{RouteIdOrName}", 200, patched)
    assert patched["strip_path"] is False and patched["paths"] == ["/p"]
    assert await _json(client, "GET", f"/routes/{route['id']}") == patched


async def test_the_spec_checker_itself_rejects_wrong_shapes(client: TestClient, spec: Any) -> None:
    good = await _json(client, "POST", "/services", SERVICE, 201)
    for bad in (
        {k: v for k, v in good.items() if k != "tags"},  # a field missing
        {**good, "url": "http://x"},  # the write-only field answered
        {**good, "extra": 1},  # a field Kong does not have
        {**good, "port": "80"},  # wrong type
        {**good, "host": None},  # host is not nullable
    ):
        with pytest.raises(AssertionError):
            spec.check_entity("Service", bad)
    with pytest.raises(AssertionError):
        spec.check("get", "/services", 200, {"data": [good], "next": None, "offset": None})
