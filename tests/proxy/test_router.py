"""Kong's routing rules, in-process (the router is pure)."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from lockgate.config.entities import validate_entity
from lockgate.proxy.router import Router, upstream_path

SERVICE = {"id": "s1", "enabled": True}


def route(name: str, **fields: Any) -> dict[str, Any]:
    entity = validate_entity("routes", {"name": name, **fields})
    entity["id"] = name
    entity["service"] = {"id": "s1"}
    return entity


def match(
    routes: list[dict[str, Any]],
    path: str,
    method: str = "GET",
    host: str = "example.test",
    headers: dict[str, str] | None = None,
) -> str | None:
    found = Router(routes, {"s1": SERVICE}).match(
        method, host, path, CIMultiDictProxy(CIMultiDict(headers or {}))
    )
    return found.route["name"] if found else None


def test_prefix_match_and_longest_prefix_wins() -> None:
    routes = [route("short", paths=["/a"]), route("long", paths=["/a/b"])]
    assert match(routes, "/a/b/c") == "long"
    assert match(routes, "/a/x") == "short"
    assert match(routes, "/b") is None


def test_more_conditions_win_over_a_longer_path() -> None:
    routes = [
        route("path-only", paths=["/api/v1"]),
        route("with-method", paths=["/api"], methods=["POST"]),
    ]
    assert match(routes, "/api/v1/x", "POST") == "with-method"
    assert match(routes, "/api/v1/x", "GET") == "path-only"


def test_regex_paths_and_regex_priority() -> None:
    routes = [
        route("low", paths=[r"~/items/\d+$"], regex_priority=0),
        route("high", paths=[r"~/items/\d+"], regex_priority=10),
    ]
    assert match(routes, "/items/42") == "high"
    assert match(routes, "/items/abc") is None


def test_hosts_with_wildcards_and_ports() -> None:
    routes = [route("wild", hosts=["*.example.com"]), route("exact", hosts=["api.test"])]
    assert match(routes, "/", host="a.example.com") == "wild"
    assert match(routes, "/", host="api.test:8000") == "exact"
    assert match(routes, "/", host="example.com") is None


def test_header_conditions_are_case_insensitive() -> None:
    routes = [route("v2", paths=["/"], headers={"X-Version": ["v2"]}), route("any", paths=["/"])]
    assert match(routes, "/x", headers={"x-version": "V2"}) == "v2"
    assert match(routes, "/x", headers={"x-version": "v3"}) == "any"


@pytest.mark.parametrize(
    ("strip", "service_path", "request_path", "expected"),
    [
        (True, "/anything", "/anything/v1/messages", "/anything/v1/messages"),
        (True, "/anything", "/anything", "/anything"),
        (True, None, "/anything/x", "/x"),
        (True, None, "/anything", "/"),
        (False, None, "/anything/x", "/anything/x"),
        (True, "/base/", "/anything/x", "/base/x"),
        (False, "/base", "/anything", "/base/anything"),
    ],
)
def test_upstream_path_joins_like_kong(
    strip: bool, service_path: str | None, request_path: str, expected: str
) -> None:
    routes = [route("r", paths=["/anything"], strip_path=strip)]
    found = Router(routes, {"s1": SERVICE}).match(
        "GET", "h", request_path, CIMultiDictProxy(CIMultiDict())
    )
    assert found is not None
    assert upstream_path(found, request_path, service_path) == expected


def test_disabled_service_routes_do_not_match() -> None:
    routes = [route("r", paths=["/a"])]
    assert (
        Router(routes, {"s1": {"id": "s1", "enabled": False}}).match(
            "GET", "h", "/a", CIMultiDictProxy(CIMultiDict())
        )
        is None
    )
