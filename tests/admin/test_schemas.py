"""The schema endpoints tools use (issue 15, part 7): ``GET /plugins/enabled``,
``GET /schemas/{entity}``, ``GET /schemas/plugins/{name}``,
``POST /schemas/plugins/validate``, in Kong's shapes
(``kong/api/routes/kong.lua``, ``kong/api/api_helpers.lua``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tests.support.processes import start_gateway

from lockgate.plugins.registry import plugin_class, plugin_names, validate

#: A valid config per plugin, as small as the schema allows.
MINIMAL: dict[str, dict[str, Any]] = {
    "ai-proxy": {"route_type": "llm/v1/chat", "model": {"provider": "openai", "name": "gpt-4o"}},
    "ai-proxy-advanced": {
        "targets": [{"route_type": "llm/v1/chat", "model": {"provider": "openai"}}]
    },
    "file-log": {"path": "/tmp/lockgate-test.log"},
    "key-auth": {},
    "pre-function": {},
    "post-function": {},
    "rate-limiting": {"minute": 5},
}


def fields_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Kong's ``[{"name": {...}}, ...]`` as one dict, checking each item has one key."""
    out: dict[str, Any] = {}
    for item in schema["fields"]:
        assert isinstance(item, dict) and len(item) == 1, item
        out.update(item)
    return out


async def _get(client: TestClient, path: str, status: int = 200) -> Any:
    resp = await client.get(path)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_enabled_plugins_lists_every_plugin_the_gateway_runs(client: TestClient) -> None:
    body = await _get(client, "/plugins/enabled")
    assert body == {"enabled_plugins": plugin_names()}
    assert set(MINIMAL) <= set(body["enabled_plugins"])
    info = await _get(client, "/")
    assert sorted(info["plugins"]["available_on_server"]) == body["enabled_plugins"]


async def test_file_log_schema_in_kongs_shape(client: TestClient) -> None:
    schema = await _get(client, "/schemas/plugins/file-log")
    assert set(schema) == {"fields", "entity_checks"} and schema["entity_checks"] == []
    top = fields_of(schema)
    assert list(top) == ["protocols", "config"]
    assert top["protocols"]["type"] == "array"
    assert top["protocols"]["default"] == ["grpc", "grpcs", "http", "https"]
    assert "http" in top["protocols"]["elements"]["one_of"]
    config = top["config"]
    assert config["type"] == "record" and config["required"] is True
    fields = fields_of(config)
    assert list(fields) == ["path", "reopen", "custom_fields_by_lua"]
    assert fields["path"]["type"] == "string" and fields["path"]["required"] is True
    assert fields["reopen"] == {"type": "boolean", "required": True, "default": False}
    assert fields["custom_fields_by_lua"] == {
        "type": "map",
        "keys": {"type": "string"},
        "values": {"type": "string"},
    }


async def test_ai_proxy_schema_carries_choices_ranges_and_records(client: TestClient) -> None:
    config = fields_of(fields_of(await _get(client, "/schemas/plugins/ai-proxy"))["config"])
    assert config["route_type"]["required"] is True and "default" not in config["route_type"]
    assert "llm/v1/chat" in config["route_type"]["one_of"]
    assert config["llm_format"]["default"] == "openai"
    model = config["model"]
    assert model["type"] == "record" and model["required"] is True
    options = fields_of(fields_of(model)["options"])
    assert options["temperature"] == {"type": "number", "between": [0, 5]}
    assert options["max_tokens"] == {"type": "integer", "between": [1, "inf"]}
    assert config["logging"]["default"] == {"log_statistics": True, "log_payloads": False}
    auth = fields_of(config["auth"])
    assert auth["param_location"]["one_of"] == ["query", "body"]
    advanced = fields_of(
        fields_of(await _get(client, "/schemas/plugins/ai-proxy-advanced"))["config"]
    )
    assert advanced["targets"]["type"] == "array" and advanced["targets"]["len_min"] == 1
    assert advanced["targets"]["elements"]["type"] == "record"


@pytest.mark.parametrize("name", sorted(MINIMAL))
async def test_each_plugin_schema_is_its_config_model(client: TestClient, name: str) -> None:
    """Generated, not written by hand: the fields are the model's, and every
    default the schema states is what validation fills in."""
    cls = plugin_class(name)
    assert cls is not None
    config = fields_of(fields_of(await _get(client, f"/schemas/plugins/{name}"))["config"])
    assert list(config) == list(cls.Config.model_fields)
    filled = validate(name, MINIMAL[name])
    for field, described in config.items():
        if "default" in described:
            assert filled[field] == described["default"], field
    older = await _get(client, f"/plugins/schema/{name}")
    assert fields_of(older) == config


async def test_unknown_plugin_or_entity_is_404(client: TestClient) -> None:
    assert await _get(client, "/schemas/plugins/no-such", 404) == {
        "message": "No plugin named 'no-such'"
    }
    assert await _get(client, "/plugins/schema/no-such", 404) == {
        "message": "No plugin named 'no-such'"
    }
    assert await _get(client, "/schemas/no-such", 404) == {"message": "No entity named 'no-such'"}


async def test_entity_schemas(client: TestClient) -> None:
    services = fields_of(await _get(client, "/schemas/services"))
    assert services["id"] == {"type": "string", "uuid": True, "auto": True}
    assert services["created_at"] == {"type": "integer", "timestamp": True, "auto": True}
    assert services["port"] == {
        "type": "integer",
        "between": [0, 65535],
        "required": True,
        "default": 80,
    }
    assert services["client_certificate"] == {"type": "foreign", "reference": "certificates"}
    assert "url" not in services  # a shorthand on input, never a field
    routes = fields_of(await _get(client, "/schemas/routes"))
    assert routes["service"] == {"type": "foreign", "reference": "services"}
    assert routes["strip_path"]["default"] is True
    assert routes["headers"]["type"] == "map"
    plugins = fields_of(await _get(client, "/schemas/plugins"))
    assert plugins["config"] == {"type": "record", "abstract": True}
    assert plugins["name"]["required"] is True
    consumers = fields_of(await _get(client, "/schemas/consumers"))
    assert {"username", "custom_id"} <= set(consumers)
    keys = fields_of(await _get(client, "/schemas/keyauth_credentials"))
    assert keys["consumer"] == {"type": "foreign", "reference": "consumers"}


async def test_validate_plugin_saves_nothing(client: TestClient) -> None:
    body = {"name": "file-log", "config": {"path": "/tmp/x.log"}}
    resp = await client.post("/schemas/plugins/validate", json=body)
    assert resp.status == 200
    assert await resp.json() == {"message": "schema validation successful"}
    assert (await _get(client, "/plugins"))["data"] == []


async def test_validate_plugin_answers_kongs_schema_violation(client: TestClient) -> None:
    resp = await client.post(
        "/schemas/plugins/validate", json={"name": "file-log", "config": {"reopen": "maybe"}}
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == 2 and body["name"] == "schema violation"
    assert body["fields"]["config"]["path"] == "required field missing"
    assert "reopen" in body["fields"]["config"]
    unknown = await client.post("/schemas/plugins/validate", json={"name": "no-such"})
    assert unknown.status == 400
    assert "name" in (await unknown.json())["fields"]
    listed = await client.post(
        "/schemas/plugins/validate", json={"name": "key-auth", "config": {"key_names": [1]}}
    )
    assert listed.status == 400
    assert (await listed.json())["fields"] == {
        "config": {"key_names": ["Input should be a valid string"]}
    }


async def test_validate_plugin_takes_a_form_body(client: TestClient) -> None:
    resp = await client.post(
        "/schemas/plugins/validate",
        data="name=file-log&config.path=/tmp/x.log&config.reopen=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 200, await resp.text()


async def test_validate_other_entities(client: TestClient) -> None:
    ok = await client.post("/schemas/services/validate", json={"url": "http://h:81/p"})
    assert ok.status == 200 and await ok.json() == {"message": "schema validation successful"}
    bad = await client.post("/schemas/routes/validate", json={"paths": ["no-slash"]})
    assert bad.status == 400
    assert "paths" in (await bad.json())["fields"]
    missing = await client.post("/schemas/no-such/validate", json={})
    assert missing.status == 404
    assert (await _get(client, "/services"))["data"] == []


def test_schema_endpoints_through_the_gateway_process(tmp_path: Path) -> None:
    with start_gateway(tmp_path) as gw:
        status, body = gw.admin("GET", "/plugins/enabled")
        assert status == 200 and "ai-proxy" in body["enabled_plugins"]
        status, body = gw.admin("GET", "/schemas/plugins/ai-proxy")
        assert status == 200 and [next(iter(f)) for f in body["fields"]] == [
            "protocols",
            "config",
        ]
        status, body = gw.admin(
            "POST",
            "/schemas/plugins/validate",
            {"name": "ai-proxy", "config": MINIMAL["ai-proxy"]},
        )
        assert (status, body) == (200, {"message": "schema validation successful"})
        status, body = gw.admin(
            "POST", "/schemas/plugins/validate", {"name": "ai-proxy", "config": {}}
        )
        assert status == 400 and body["name"] == "schema violation"
        assert gw.admin("GET", "/plugins")[1]["data"] == []
