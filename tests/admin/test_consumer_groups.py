"""Consumer groups in the Admin API, in Kong's shapes: the entity, its
members from either side, plugins scoped to a group, and what cascades."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


async def _post(client: TestClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    resp = await client.post(path, json=body)
    return resp.status, await resp.json()


async def test_group_members_and_plugins(client: TestClient) -> None:
    assert (await _post(client, "/consumers", {"username": "ana"}))[0] == 201
    assert (await _post(client, "/consumers", {"username": "bo"}))[0] == 201
    status, group = await _post(client, "/consumer_groups", {"name": "team-a"})
    assert status == 201 and group["name"] == "team-a" and group["id"]

    status, body = await _post(client, "/consumer_groups/team-a/consumers", {"consumer": "ana"})
    assert status == 201
    assert body["consumer_group"]["id"] == group["id"]
    assert [c["username"] for c in body["consumers"]] == ["ana"]
    status, body = await _post(client, "/consumers/bo/consumer_groups", {"group": ["team-a"]})
    assert status == 201 and [g["name"] for g in body["consumer_groups"]] == ["team-a"]

    status, body = await _post(client, "/consumer_groups/team-a/consumers", {"consumer": "ana"})
    assert status == 409 and "already in group" in body["message"]
    status, body = await _post(client, "/consumer_groups/team-a/consumers", {"consumer": "zed"})
    assert status == 404 and body["message"] == "Consumer 'zed' not found"
    status, body = await _post(client, "/consumer_groups/none/consumers", {"consumer": "ana"})
    assert status == 404 and body["message"] == "Group 'none' not found"
    status, body = await _post(client, "/consumer_groups/team-a/consumers", {})
    assert status == 400 and body["message"] == "must provide consumer"

    members = await (await client.get("/consumer_groups/team-a/consumers")).json()
    assert sorted(c["username"] for c in members["data"]) == ["ana", "bo"]
    groups = await (await client.get("/consumers/ana/consumer_groups")).json()
    assert [g["name"] for g in groups["data"]] == ["team-a"]

    status, plugin = await _post(
        client,
        "/consumer_groups/team-a/plugins",
        {"name": "rate-limiting", "config": {"minute": 5}},
    )
    assert status == 201 and plugin["consumer_group"] == {"id": group["id"]}
    whole = await (await client.get("/consumer_groups/team-a")).json()
    assert whole["consumer_group"]["name"] == "team-a"
    assert [p["name"] for p in whole["plugins"]] == ["rate-limiting"]
    assert sorted(c["username"] for c in whole["consumers"]) == ["ana", "bo"]

    resp = await client.delete("/consumer_groups/team-a/consumers/ana")
    assert resp.status == 204
    resp = await client.get("/consumers/ana/consumer_groups/team-a")
    assert resp.status == 404
    resp = await client.get("/consumers/bo/consumer_groups/team-a")
    assert resp.status == 200

    # Deleting the group takes its memberships and plugins with it.
    assert (await client.delete("/consumer_groups/team-a")).status == 204
    assert (await (await client.get("/plugins")).json())["data"] == []
    assert (await (await client.get("/consumers/bo/consumer_groups")).json())["data"] == []


async def test_deck_file_round_trip(client: TestClient) -> None:
    document = {
        "_format_version": "3.0",
        "consumer_groups": [
            {
                "name": "gold",
                "plugins": [{"name": "rate-limiting", "config": {"minute": 100}}],
            },
            {"name": "silver", "consumers": [{"username": "cy"}]},
        ],
        "consumers": [
            {
                "username": "ana",
                "groups": [{"name": "gold"}],
                "keyauth_credentials": [{"key": "k-ana"}],
            },
            {"username": "cy"},
        ],
    }
    resp = await client.post("/config", json=document)
    assert resp.status == 201, await resp.text()
    dumped = (await (await client.get("/config")).json())["config"]
    assert sorted(g["name"] for g in dumped["consumer_groups"]) == ["gold", "silver"]
    ana = next(c for c in dumped["consumers"] if c["username"] == "ana")
    assert ana["groups"] == [{"name": "gold"}]
    assert [k["key"] for k in ana["keyauth_credentials"]] == ["k-ana"]
    cy = next(c for c in dumped["consumers"] if c["username"] == "cy")
    assert cy["groups"] == [{"name": "silver"}]
    (plugin,) = dumped["plugins"]
    assert plugin["consumer_group"] == {"name": "gold"}
    # The dump is itself a file that changes nothing when applied again.
    resp = await client.post("/config?dry_run=true", json=dumped)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["changes"] == [], answer
    # And a file without the membership removes it.
    del ana["groups"]
    answer = await (await client.post("/config?dry_run=true", json=dumped)).json()
    assert [(c["action"], c["kind"]) for c in answer["changes"]] == [
        ("delete", "consumer_group_consumers")
    ], answer
