"""POST /config (sync, apply, dry run), GET /config, persistence, two nodes."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestClient, TestServer

from lockgate.admin.app import build_admin_app
from lockgate.store.sqlite import SQLiteStore

TUTORIAL = """
_format_version: "3.0"
services:
  - name: example-service
    url: http://httpbin.konghq.com/anything
routes:
  - name: example-route
    paths:
    - "/anything"
    service:
      name: example-service
"""

PLUGINS = {
    "_format_version": "3.0",
    "plugins": [{"name": "file-log", "config": {"path": "/tmp/claude.json"}}],
}


async def _post_config(
    client: TestClient, body: Any, query: str = "", status: int = 201, **kwargs: Any
) -> Any:
    if isinstance(body, str):
        resp = await client.post(
            f"/config{query}",
            data=body.encode(),
            headers={"Content-Type": "application/yaml"},
            **kwargs,
        )
    else:
        resp = await client.post(f"/config{query}", json=body)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _names(client: TestClient, path: str) -> list[str]:
    resp = await client.get(path)
    return sorted(e.get("name") or e["id"] for e in (await resp.json())["data"])


async def test_post_config_yaml_then_sync_replaces_everything(
    client: TestClient, spec: Any
) -> None:
    body = await _post_config(client, TUTORIAL)
    spec.check("post", "/config", 201, body)
    assert [(c["action"], c["type"], c["label"]) for c in body["changes"]] == [
        ("create", "service", "example-service"),
        ("create", "route", "example-route"),
    ]
    version = body["version"]
    service = await (await client.get("/services/example-service")).json()
    route = await (await client.get("/routes/example-route")).json()
    assert route["service"] == {"id": service["id"]} and service["path"] == "/anything"
    body = await _post_config(client, PLUGINS)  # default mode: sync (Kong's semantics)
    assert sorted((c["action"], c["type"]) for c in body["changes"]) == [
        ("create", "plugin"),
        ("delete", "route"),
        ("delete", "service"),
    ]
    assert body["changes"][0]["action"] == "delete" and body["changes"][0]["type"] == "route"
    assert body["version"] == version + 1
    assert await _names(client, "/services") == [] and await _names(client, "/plugins") == [
        "file-log"
    ]


async def test_apply_mode_deletes_nothing(client: TestClient) -> None:
    await _post_config(client, TUTORIAL)
    body = await _post_config(client, PLUGINS, "?mode=apply")
    assert [(c["action"], c["label"]) for c in body["changes"]] == [("create", "file-log (global)")]
    assert await _names(client, "/services") == ["example-service"]
    assert await _names(client, "/routes") == ["example-route"]


async def test_same_file_twice_changes_nothing(client: TestClient) -> None:
    first = await _post_config(client, TUTORIAL)
    service = await (await client.get("/services/example-service")).json()
    again = await _post_config(client, TUTORIAL)
    assert again == {"changes": [], "version": first["version"]}
    assert await (await client.get("/services/example-service")).json() == service


async def test_update_lists_the_changed_fields(client: TestClient) -> None:
    await _post_config(client, TUTORIAL)
    body = await _post_config(client, TUTORIAL.replace("httpbin.konghq.com", "httpbin.org"))
    (change,) = body["changes"]
    assert (change["action"], change["label"]) == ("update", "example-service")
    assert change["fields"] == [
        {"field": "host", "old": "httpbin.konghq.com", "new": "httpbin.org"}
    ]


async def test_dry_run_saves_nothing(client: TestClient, store: SQLiteStore) -> None:
    await _post_config(client, TUTORIAL)
    version = await store.version()
    body = await _post_config(client, PLUGINS, "?dry_run=true", status=200)
    assert len(body["changes"]) == 3 and body["version"] == version
    assert await store.version() == version and await _names(client, "/services") == [
        "example-service"
    ]


async def test_invalid_file_changes_nothing(
    client: TestClient, store: SQLiteStore, spec: Any
) -> None:
    await _post_config(client, TUTORIAL)
    version = await store.version()
    before = await (await client.get("/config")).json()
    bad = {
        "_format_version": "3.0",
        "services": [
            {"name": "ok", "host": "h", "routes": [{"name": "bad", "paths": ["~/(x"]}]},
            {"name": "nohost"},
        ],
        "plugins": [{"name": "file-log", "config": {}}, {"name": "no-such-plugin"}],
    }
    body = await _post_config(client, bad, status=400)
    spec.check("post", "/config", 400, body)
    assert body["code"] == 14 and body["name"] == "invalid declarative configuration"
    assert set(body["fields"]) == {
        "services[0].routes[0]",
        "services[1]",
        "plugins[0]",
        "plugins[1]",
    }
    assert "paths" in body["fields"]["services[0].routes[0]"]
    assert body["fields"]["services[1]"] == {"host": "required field missing"}
    assert "path" in body["fields"]["plugins[0]"]["config"]
    assert body["message"].startswith("declarative config is invalid: ")
    flattened = {(e["entity_type"], e.get("entity_name")) for e in body["flattened_errors"]}
    assert flattened == {
        ("route", "bad"),
        ("service", "nohost"),
        ("plugin", "file-log"),
        ("plugin", "no-such-plugin"),
    }
    route_error = next(e for e in body["flattened_errors"] if e["entity_type"] == "route")
    assert (
        route_error["errors"][0]["type"] == "field" and route_error["errors"][0]["field"] == "paths"
    )
    assert await store.version() == version
    assert await (await client.get("/config")).json() == before


async def test_reference_and_duplicate_errors(client: TestClient) -> None:
    dup = {
        "_format_version": "3.0",
        "services": [{"name": "a", "host": "h"}, {"name": "a", "host": "i"}],
    }
    body = await _post_config(client, dup, status=400)
    assert (
        "duplicate" in body["fields"]["services[1]"]["name"]
        and "services[0]" in body["fields"]["services[1]"]["name"]
    )
    dangling = {
        "_format_version": "3.0",
        "routes": [{"paths": ["/x"], "service": {"name": "ghost"}}],
    }
    body = await _post_config(client, dangling, status=400)
    assert "ghost" in body["fields"]["routes[0]"]["service"]
    # apply mode: references may name entities the gateway already has
    await _post_config(
        client, {"_format_version": "3.0", "services": [{"name": "ghost", "host": "h"}]}
    )
    body = await _post_config(client, dangling, "?mode=apply")
    assert [c["type"] for c in body["changes"]] == ["route"]
    body = await _post_config(client, dangling, status=400)  # sync: the service would be gone
    assert "service" in body["fields"]["routes[0]"]


async def test_unparsable_files(client: TestClient, spec: Any) -> None:
    body = await _post_config(client, "services: [", status=400)
    spec.check("post", "/config", 400, body)
    assert body["code"] == 14 and "YAML" in body["message"]
    body = await _post_config(client, "services: []\n", status=400)
    assert "_format_version" in body["message"]
    body = await _post_config(client, {"_format_version": "3.0", "upstreamz": []}, status=400)
    assert body["fields"] == {"upstreamz": "unknown field"}
    body = await _post_config(
        client,
        '_format_version: "3.0"\nservices:\n- name: x\n  host: ${{ env "DECK_HOST" }}\n',
        status=400,
    )
    assert "DECK_HOST" in body["message"]  # the server never reads its own environment
    resp = await client.post("/config", data=b"{", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and await resp.json() == {"message": "Cannot parse JSON body"}
    resp = await client.post("/config?mode=merge", json=PLUGINS)
    assert resp.status == 400 and (await resp.json())["code"] == 11


async def test_config_in_multipart_form_and_json_string(client: TestClient) -> None:
    form = aiohttp.FormData()
    form.add_field(
        "config", TUTORIAL.encode(), filename="kong.yaml", content_type="application/yaml"
    )
    resp = await client.post("/config", data=form)
    assert resp.status == 201, await resp.text()
    assert await _names(client, "/services") == ["example-service"]
    resp = await client.post("/config", data={"config": orjson.dumps(PLUGINS).decode()})
    assert resp.status == 201 and await _names(client, "/services") == []
    body = await _post_config(client, {"config": TUTORIAL})
    assert len(body["changes"]) == 3


async def test_get_config_round_trip(client: TestClient) -> None:
    await _post_config(client, TUTORIAL)
    await _post_config(client, PLUGINS, "?mode=apply")
    dump = await (await client.get("/config")).json()
    assert dump["config"]["_format_version"] == "3.0"
    assert dump["config"]["routes"][0]["service"] == {"name": "example-service"}
    again = await _post_config(client, dump["config"])
    assert again["changes"] == [] and again["version"] == dump["version"]


async def test_configuration_persists_across_app_instances(
    store: SQLiteStore, tmp_path: Any
) -> None:
    async with TestClient(TestServer(build_admin_app(store))) as client:
        await _post_config(client, TUTORIAL)
        await client.post("/plugins", json={"name": "file-log", "config": {"path": "/tmp/p"}})
    reopened = SQLiteStore(store.path)
    async with TestClient(TestServer(build_admin_app(reopened))) as client:
        assert await _names(client, "/services") == ["example-service"]
        assert await _names(client, "/plugins") == ["file-log"]
    await reopened.close()


async def test_two_nodes_on_one_store_see_each_other(store: SQLiteStore) -> None:
    other_store = SQLiteStore(store.path)
    async with (
        TestClient(TestServer(build_admin_app(store))) as a,
        TestClient(TestServer(build_admin_app(other_store))) as b,
    ):
        assert (await a.post("/services", json={"name": "from-a", "host": "h"})).status == 201
        assert await _names(b, "/services") == ["from-a"]
        assert (await b.post("/services", json={"name": "from-b", "host": "h"})).status == 201
        # a's next change starts from the newest version, so b's service survives it
        assert (await a.post("/services", json={"name": "again-a", "host": "h"})).status == 201
        assert await _names(b, "/services") == ["again-a", "from-a", "from-b"]
        assert (await b.post("/services", json={"name": "from-a", "host": "h"})).status == 409
    await other_store.close()


async def test_conflict_with_existing_entities_changes_nothing(
    client: TestClient, store: SQLiteStore
) -> None:
    created = await client.post("/consumers", json={"username": "alice", "custom_id": "X"})
    assert created.status == 201
    version = await store.version()
    clash = {"_format_version": "3.0", "consumers": [{"username": "bob", "custom_id": "X"}]}
    body = await _post_config(client, clash, "?mode=apply", status=400)
    assert body["code"] == 14 and "custom_id" in body["fields"]["consumers[0]"]
    assert body["flattened_errors"][0]["entity_type"] == "consumer"
    assert await store.version() == version
    assert await _names(client, "/consumers") == [(await created.json())["id"]]


async def test_errors_and_changes_never_carry_a_credential(client: TestClient) -> None:
    def ai_proxy(key: str, provider: str = "openai") -> dict[str, Any]:
        return {
            "_format_version": "3.0",
            "plugins": [
                {
                    "name": "ai-proxy",
                    "config": {
                        "route_type": "llm/v1/chat",
                        "auth": {"header_name": "Authorization", "header_value": key},
                        "model": {"provider": provider, "name": "m"},
                    },
                }
            ],
        }

    await _post_config(client, ai_proxy("Bearer sk-first-secret"))
    body = await _post_config(client, ai_proxy("Bearer sk-second-secret"), "?dry_run=true", 200)
    (change,) = body["changes"]
    assert change["fields"] == [
        {"field": "config.auth.header_value", "old": "[masked]", "new": "[masked]"}
    ]
    # an invalid file: Kong's flattened_errors echo the entity, without its credential
    bad = await _post_config(client, ai_proxy("Bearer sk-third-secret", "nope"), status=400)
    assert "sk-third-secret" not in orjson.dumps(bad).decode()
    (record,) = bad["flattened_errors"]
    assert record["entity"]["config"]["auth"]["header_value"] == "[masked]"
    assert record["entity"]["config"]["model"]["provider"] == "nope"
