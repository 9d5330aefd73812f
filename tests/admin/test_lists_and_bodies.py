"""List pagination and tag filters; request bodies (JSON, form, multipart);
Kong's answers to bad requests; GET / and GET /status."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from lockgate.admin.request_body import infer_value, nest_form_pairs


async def _json(
    client: TestClient, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    resp = await client.request(method, path, json=body)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _services(client: TestClient, count: int) -> list[str]:
    ids = []
    for i in range(count):
        tags = ["all", "even" if i % 2 == 0 else "odd"] + (["three"] if i % 3 == 0 else [])
        body = await _json(
            client, "POST", "/services", {"name": f"s{i}", "host": "h", "tags": tags}, 201
        )
        ids.append(body["id"])
    return ids


async def test_pagination_walk(client: TestClient, spec: Any) -> None:
    ids = await _services(client, 7)
    seen: list[str] = []
    path: str | None = "/services?size=3"
    pages = 0
    while path:
        body = await _json(client, "GET", path)
        spec.check("get", "/services", 200, body)
        seen += [s["id"] for s in body["data"]]
        pages += 1
        if body["next"] is None:
            assert "offset" not in body
        else:
            assert body["next"].startswith("/services?offset=") and "size=3" in body["next"]
            assert body["offset"] in body["next"]
        path = body["next"]
    assert pages == 3 and len(seen) == 7 and set(seen) == set(ids)


async def test_pagination_survives_deletes_between_pages(client: TestClient) -> None:
    ids = await _services(client, 5)
    first = await _json(client, "GET", "/services?size=2")
    listed = [s["id"] for s in (await _json(client, "GET", "/services"))["data"]]
    assert (await client.delete(f"/services/{listed[2]}")).status == 204
    second = await _json(client, "GET", first["next"])
    assert [s["id"] for s in second["data"]] == listed[3:5] and second["next"] is None
    assert set(listed) == set(ids)


async def test_default_size_is_100_and_empty_list(client: TestClient, spec: Any) -> None:
    body = await _json(client, "GET", "/routes")
    spec.check("get", "/routes", 200, body)
    assert body == {"data": [], "next": None}
    await _services(client, 101)
    body = await _json(client, "GET", "/services")
    assert len(body["data"]) == 100 and body["next"]
    body = await _json(client, "GET", "/services?size=1000")
    assert len(body["data"]) == 101 and body["next"] is None


async def test_invalid_size_and_offset(client: TestClient, spec: Any) -> None:
    for size in ("0", "1001", "abc", "1.5"):
        body = await _json(client, "GET", f"/services?size={size}", status=400)
        spec.check("get", "/services", 400, body)
        assert body["code"] == 9 and body["name"] == "invalid size"
    for offset in ("%%%", "bm90IGpzb24", "WzFd"):
        body = await _json(client, "GET", f"/plugins?offset={offset}", status=400)
        spec.check("get", "/plugins", 400, body)
        assert body["code"] == 7 and body["name"] == "invalid offset"


async def test_tags_filter(client: TestClient, spec: Any) -> None:
    await _services(client, 6)

    async def names(query: str) -> list[str]:
        return [s["name"] for s in (await _json(client, "GET", f"/services?tags={query}"))["data"]]

    assert sorted(await names("even")) == ["s0", "s2", "s4"]
    assert await names("even,three") == ["s0"]
    assert sorted(await names("odd/three")) == ["s0", "s1", "s3", "s5"]
    assert await names("nothing") == []
    body = await _json(client, "GET", "/services?tags=even,odd/three", status=400)
    spec.check("get", "/services", 400, body)
    assert body["code"] == 11 and body["options"] == {"tags": "invalid filter syntax"}
    body = await _json(client, "GET", "/services?tags=even&size=1")
    assert "tags=even" in body["next"] and "size=1" in body["next"]


async def test_nested_list_pagination(client: TestClient) -> None:
    service = await _json(client, "POST", "/services", {"name": "s", "host": "h"}, 201)
    for i in range(3):
        await _json(client, "POST", "/services/s/routes", {"paths": [f"/{i}"]}, 201)
    body = await _json(client, "GET", "/services/s/routes?size=2")
    assert len(body["data"]) == 2 and body["next"].startswith(
        f"/services/{service['id']}/routes?offset="
    )
    body = await _json(client, "GET", body["next"])
    assert len(body["data"]) == 1 and body["next"] is None


async def test_form_urlencoded_bodies(client: TestClient) -> None:
    resp = await client.post(
        "/services",
        data={"name": "form", "url": "http://h.example:8080/p", "retries": "3", "tags[]": "a"},
    )
    assert resp.status == 201, await resp.text()
    service = await resp.json()
    assert (service["port"], service["retries"], service["tags"]) == (8080, 3, ["a"])
    form = [
        ("paths[]", "/a"),
        ("paths[]", "/b"),
        ("service.id", service["id"]),
        ("strip_path", "false"),
        ("hosts", "x.example"),
    ]
    resp = await client.post("/routes", data=form)
    assert resp.status == 201, await resp.text()
    route = await resp.json()
    assert (
        route["paths"] == ["/a", "/b"]
        and route["strip_path"] is False
        and route["hosts"] == ["x.example"]
    )
    resp = await client.post("/plugins", data={"name": "file-log", "config.path": "/tmp/form.json"})
    assert resp.status == 201, await resp.text()
    plugin = await resp.json()
    assert plugin["config"]["path"] == "/tmp/form.json"
    resp = await client.patch(f"/plugins/{plugin['id']}", data={"config.path": "/tmp/other.json"})
    assert resp.status == 200 and (await resp.json())["config"]["path"] == "/tmp/other.json"
    resp = await client.patch("/services/form", data={"path": ""})
    assert resp.status == 200 and (await resp.json())["path"] is None


async def test_multipart_bodies(client: TestClient) -> None:
    form = aiohttp.FormData()
    form.add_field("name", "multi")
    form.add_field("host", "h.example")
    form.add_field("port", "81")
    form.add_field(
        "ca_certificates", str(uuid.uuid4()), content_type="text/plain", filename="ca.txt"
    )
    resp = await client.post("/services", data=form)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["port"] == 81 and len(body["ca_certificates"]) == 1


async def test_bad_requests(client: TestClient) -> None:
    resp = await client.post(
        "/services", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400 and await resp.json() == {"message": "Cannot parse JSON body"}
    resp = await client.post("/services", data=b"[1]", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post("/services", data=b"x", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    for method, path in (("GET", "/nope"), ("GET", "/services/a/b/c"), ("POST", "/status")):
        resp = await client.request(method, path)
        expected = 405 if path == "/status" else 404
        assert resp.status == expected
        assert await resp.json() == {
            "message": "Method not allowed" if expected == 405 else "Not found"
        }
    for method, path in (
        ("DELETE", "/services"),
        ("PUT", "/plugins"),
        ("PATCH", "/consumers"),
        ("DELETE", "/config"),
    ):
        resp = await client.request(method, path)
        assert resp.status == 405 and await resp.json() == {"message": "Method not allowed"}


async def test_info(client: TestClient, spec: Any) -> None:
    await _json(client, "POST", "/plugins", {"name": "file-log", "config": {"path": "/tmp/x"}}, 201)
    body = await _json(client, "GET", "/")
    spec.check("get", "/", 200, body)
    assert body["tagline"] == "Welcome to lockgate" and uuid.UUID(body["node_id"])
    assert body["version"].startswith("3.") and body["lockgate_version"]
    assert body["plugins"]["enabled_in_cluster"] == ["file-log"]
    file_log = body["plugins"]["available_on_server"]["file-log"]
    assert file_log["priority"] == 9 and isinstance(file_log["version"], str)
    conf = body["configuration"]
    assert conf["database"] == "sqlite" and conf["admin_listen"] == ["127.0.0.1:8001"]
    assert conf["proxy_listeners"][0]["port"] == 8000


async def test_info_reports_node_info(store: Any) -> None:
    from aiohttp.test_utils import TestServer

    from lockgate.admin.app import build_admin_app

    node_id = str(uuid.uuid4())
    app = build_admin_app(
        store, node_info={"node_id": node_id, "proxy_listen": "0.0.0.0:9000", "workers": 2}
    )
    async with TestClient(TestServer(app)) as client:
        body = await _json(client, "GET", "/")
    assert body["node_id"] == node_id
    assert (
        body["configuration"]["proxy_listen"] == ["0.0.0.0:9000"]
        and body["configuration"]["workers"] == 2
    )
    assert body["configuration"]["proxy_listeners"][0] == {
        "ip": "0.0.0.0",
        "port": 9000,
        "ssl": False,
        "http2": False,
        "listener": "0.0.0.0:9000",
    }


async def test_status(client: TestClient, spec: Any) -> None:
    await _json(client, "GET", "/services")
    body = await _json(client, "GET", "/status")
    spec.check("get", "/status", 200, body)
    assert body["database"] == {"reachable": True}
    assert body["server"]["total_requests"] >= 2 and body["server"]["connections_active"] >= 1


def test_form_nesting() -> None:
    pairs = [
        ("config.model.name", "m"),
        ("config.model.options.max_tokens", "5"),
        ("paths[]", "/a"),
        ("paths[]", "/b"),
        ("hosts[2]", "b"),
        ("hosts[1]", "a"),
        ("methods", "GET"),
        ("methods", "POST"),
        ("headers[x-a]", "1"),
    ]
    assert nest_form_pairs(pairs) == {
        "config": {"model": {"name": "m", "options": {"max_tokens": "5"}}},
        "paths": ["/a", "/b"],
        "hosts": ["a", "b"],
        "methods": ["GET", "POST"],
        "headers": {"x-a": "1"},
    }


def test_infer_value() -> None:
    assert infer_value("", int | None) is None
    assert infer_value("5", int) == 5 and infer_value("x", int) == "x"
    assert infer_value("true", bool) is True and infer_value("false", bool | None) is False
    assert infer_value("/a", list[str] | None) == ["/a"]
    assert infer_value({"a": "1"}, dict[str, list[str]]) == {"a": ["1"]}
