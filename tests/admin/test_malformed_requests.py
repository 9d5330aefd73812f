"""Malformed Admin API requests get a 4xx in Kong's error shape, never a 5xx.

Each case here answered 500 before (found by fuzzing the Admin API against
Kong's published specification and by hand): a multipart body without a
boundary, a body whose ``Content-Encoding`` lies, form keys and YAML keys that
are not strings, and lists whose items are not what the field holds.
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.admin.request_body import nest_form_pairs
from lockgate.admin.responses import kong_fields

FORM = "application/x-www-form-urlencoded"


async def _answer(
    client: TestClient, method: str, path: str, data: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    resp = await client.request(method, path, data=data, headers=headers)
    assert resp.content_type == "application/json", await resp.text()
    return resp.status, await resp.json()


@pytest.mark.parametrize(
    ("path", "content_type", "data"),
    [
        ("/services", "multipart/form-data", b"host=h"),
        ("/config", "multipart/form-data", b"config=x"),
        ("/services", "multipart/form-data; boundary=zz", b"not a multipart body"),
        ("/services", f"{FORM}; charset=no-such-charset", b"host=h"),
    ],
)
async def test_unreadable_form_body_is_400(
    client: TestClient, path: str, content_type: str, data: bytes
) -> None:
    status, body = await _answer(client, "POST", path, data, {"Content-Type": content_type})
    assert status == 400
    assert body["message"].startswith("Cannot parse form body")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_body_that_lies_about_its_content_encoding_is_400(
    client: TestClient, encoding: str
) -> None:
    status, body = await _answer(
        client,
        "POST",
        "/services",
        b'{"host": "h"}',
        {"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert status == 400
    assert body == {
        "message": "Cannot read the request body: it does not decode as its "
        f"Content-Encoding ({encoding})"
    }


async def test_body_in_an_encoding_that_cannot_be_decoded_is_400(client: TestClient) -> None:
    resp = await client.post(
        "/services",
        data=b'{"host": "h"}',
        headers={"Content-Type": "application/json", "Content-Encoding": "br"},
    )
    assert resp.status in (400, 415), await resp.text()


async def test_body_with_true_content_encoding_is_read(client: TestClient) -> None:
    status, body = await _answer(
        client,
        "POST",
        "/services",
        gzip.compress(b'{"host": "h"}'),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert status == 201 and body["host"] == "h"


@pytest.mark.parametrize(
    "form",
    [
        b"host=h&tags[1]=x&tags[b]=y",
        b"host=h&tags[1]=x&tags=y",
        b"host=h&tags=y&tags.a=x",
        b"host=h&tags.a=y&tags[]=x",
        b"host=h&tags[1][2]=x&tags[1][a]=y",
    ],
)
async def test_bracketed_form_keys_that_mix_indexes_and_names_are_400(
    client: TestClient, form: bytes
) -> None:
    status, body = await _answer(client, "POST", "/services", form, {"Content-Type": FORM})
    assert status == 400
    assert body["name"] == "schema violation" and "tags" in body["fields"]


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("POST", "/routes", {"paths": [1]}, {"paths": ["Input should be a valid string"]}),
        (
            "PUT",
            "/routes/r1",
            {"paths": ["/a", None]},
            {"paths": [None, "Input should be a valid string"]},
        ),
        (
            "PUT",
            "/services/s1",
            {"host": "h", "tags": [["x"]]},
            {"tags": ["Input should be a valid string"]},
        ),
        ("PATCH", "/consumers/c1", {"tags": [{"a": 1}]}, None),
        (
            "POST",
            "/plugins",
            {"name": "key-auth", "config": {"key_names": [1]}},
            {"config": {"key_names": ["Input should be a valid string"]}},
        ),
        (
            "PUT",
            "/plugins/6a2b3c4d-1111-2222-3333-444455556666",
            {"name": "pre-function", "config": {"access": [None]}},
            {"config": {"access": ["Input should be a valid string"]}},
        ),
    ],
)
async def test_list_items_of_the_wrong_type_are_400_with_kong_array_fields(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any],
    fields: dict[str, Any] | None,
) -> None:
    if method == "PATCH":
        assert (await client.put("/consumers/c1", json={})).status == 200
    resp = await client.request(method, path, json=body)
    assert resp.status == 400, await resp.text()
    answer = await resp.json()
    assert answer["code"] == 2 and answer["name"] == "schema violation"
    if fields is not None:
        assert answer["fields"] == fields


@pytest.mark.parametrize("url", [1, 1.5, True, ["http://h"], {"a": 1}])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_service_url_that_is_not_a_string_is_400(
    client: TestClient, method: str, url: Any
) -> None:
    assert (await client.put("/services/s1", json={"host": "h"})).status == 200
    path = "/services" if method == "POST" else "/services/s1"
    resp = await client.request(method, path, json={"host": "h", "url": url})
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["name"] == "schema violation"


@pytest.mark.parametrize(
    "yaml_text",
    [
        '_format_version: "3.0"\nservices:\n- {1: 2, host: h}\n',
        '_format_version: "3.0"\nservices:\n- host: h\n  tags: {1: 2}\n',
        '_format_version: "3.0"\nplugins:\n- name: file-log\n  config: {path: /tmp/x, 1: 2}\n',
        '_format_version: "3.0"\nplugins:\n- name: [file-log]\n',
        '_format_version: "3.0"\nplugins:\n- name: {a: 1}\n',
    ],
)
async def test_yaml_config_with_keys_or_names_that_are_not_strings_is_400(
    client: TestClient, yaml_text: str
) -> None:
    status, body = await _answer(
        client, "POST", "/config", yaml_text.encode(), {"Content-Type": "application/x-yaml"}
    )
    assert status == 400
    assert body["code"] == 14 and body["name"] == "invalid declarative configuration"
    assert (await client.get("/services")).status == 200


def test_kong_fields_turns_indexes_into_arrays_and_other_keys_into_strings() -> None:
    assert kong_fields({"tags": {1: "bad"}}) == {"tags": [None, "bad"]}
    assert kong_fields({"config": {"targets": {0: {"model": "x"}}}}) == {
        "config": {"targets": [{"model": "x"}]}
    }
    assert kong_fields({1: "a", "b": {2.5: "c"}}) == {"1": "a", "b": {"2.5": "c"}}


def _all_keys_are_strings(node: Any) -> bool:
    if isinstance(node, dict):
        return all(isinstance(k, str) and _all_keys_are_strings(v) for k, v in node.items())
    if isinstance(node, list):
        return all(_all_keys_are_strings(v) for v in node)
    return True


_KEY_PART = st.sampled_from(["a", "b", "1", "0", "", "[]", "[1]", "[a]", "[", "]", ".", "[0][x]"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.lists(_KEY_PART, min_size=1, max_size=5).map("".join), st.text(max_size=3)),
        max_size=8,
    )
)
def test_nested_form_pairs_only_ever_have_string_keys(pairs: list[tuple[str, str]]) -> None:
    assert _all_keys_are_strings(nest_form_pairs(pairs))
