"""JSON between bodies and Lua tables: the HuggingFace snippet, cjson, round-trip properties."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.lua import LuaRequest, LuaRuntime, LuaRuntimeError

Run = Callable[..., LuaRequest]
Make = Callable[..., LuaRequest]

ROUND_TRIP = """
local cjson = require "cjson"
kong.service.request.set_raw_body(cjson.encode(cjson.decode(kong.request.get_raw_body())))
"""


def round_trip(run: Run, text: bytes) -> Any:
    request = run(ROUND_TRIP, LuaRequest(headers={"content-type": "application/json"}, body=text))
    assert request.service_body is not None
    return orjson.loads(request.service_body)


# the HuggingFace tutorial snippet, verbatim -----------------------------------------


def test_hf_snippet_removes_model_and_keeps_the_rest(
    run: Run, claude_body: bytes, json_request: Make, hf_snippet: str
) -> None:
    request = run(hf_snippet, json_request(claude_body))
    expected = orjson.loads(claude_body)
    del expected["model"]
    assert request.service_body is not None
    assert orjson.loads(request.service_body) == expected
    assert request.service_content_type == "application/json"
    # the request already said application/json: no header change to make
    assert request.service_headers_set == {}
    assert request.exit_status is None


def test_hf_snippet_keeps_unicode_and_escapes_byte_exact(
    run: Run, claude_body: bytes, json_request: Make, hf_snippet: str
) -> None:
    request = run(hf_snippet, json_request(claude_body))
    assert request.service_body is not None
    out = orjson.loads(request.service_body)
    original = orjson.loads(claude_body)
    assert (
        out["messages"][3]["content"][0]["content"]
        == original["messages"][3]["content"][0]["content"]
    )
    assert out["messages"][-1]["content"] == "Thanks — now summarise it in 日本語 too 😀"
    assert out["metadata"]["user_id"] == original["metadata"]["user_id"]
    assert out["messages"][3]["content"][1]["content"] == []
    assert out["tools"][7]["input_schema"] == {"type": "object", "properties": {}, "required": []}
    assert out["messages"][2]["content"][2]["input"]["cursor"] is None
    assert out["output_config"]["seed"] == 9007199254740991
    assert out["output_config"]["scale"] == -1.5e-7
    assert out["top_p"] == 0.95


@pytest.mark.parametrize("body", [b"", None])
def test_hf_snippet_leaves_an_empty_body_unchanged(
    run: Run, body: bytes | None, json_request: Make, hf_snippet: str
) -> None:
    request = run(hf_snippet, json_request(body))
    assert request.service_body is None
    assert request.service_content_type is None


@pytest.mark.parametrize("body", [b"not json", b'{"model": ', b'"a string"', b"42", b"null"])
def test_hf_snippet_leaves_a_non_json_body_unchanged(
    run: Run, body: bytes, json_request: Make, hf_snippet: str
) -> None:
    request = run(hf_snippet, json_request(body))
    assert request.service_body is None


def test_hf_snippet_with_a_top_level_array(run: Run, json_request: Make, hf_snippet: str) -> None:
    request = run(hf_snippet, json_request(b'[1, {"model": "x"}, []]'))
    assert request.service_body == b'[1,{"model":"x"},[]]'


def test_get_body_reports_invalid_json(run: Run, json_request: Make) -> None:
    code = """
    local body, err, mime = kong.request.get_body()
    kong.log.err(tostring(body), "|", err, "|", mime)
    """
    request = run(code, json_request(b"{bad"))
    assert request.log_lines == [("err", "snippet:3: nil|invalid json body|application/json")]


# cjson ------------------------------------------------------------------------------


def test_empty_arrays_and_objects_keep_their_kind(run: Run) -> None:
    assert round_trip(run, b'{"a": [], "b": {}, "c": [[]], "d": [{}]}') == {
        "a": [],
        "b": {},
        "c": [[]],
        "d": [{}],
    }


def test_nulls_round_trip_and_compare_to_ngx_null(run: Run) -> None:
    assert round_trip(run, b'[null, {"x": null}]') == [None, {"x": None}]
    code = """
    local cjson = require "cjson"
    local t = cjson.decode('{"x": null}')
    kong.log.info(tostring(t.x == ngx.null), tostring(t.x == cjson.null), type(t.x))
    """
    assert run(code).log_lines == [("info", "snippet:4: truetrueuserdata")]


@pytest.mark.parametrize(
    "value",
    [
        "é — 日本語 😀 👩‍💻",
        'quote " backslash \\ slash / tab \t newline \n nul \x00 bell \x07 del \x7f',
        "\u2028\u2029",
    ],
)
def test_strings_round_trip_exactly(run: Run, value: str) -> None:
    assert round_trip(run, orjson.dumps({"s": value, value: 1})) == {"s": value, value: 1}
    # the same text written with \u escapes only
    escaped = json.dumps({"s": value}, ensure_ascii=True).encode()
    assert round_trip(run, escaped) == {"s": value}


def test_surrogate_pairs_decode_to_one_character(run: Run) -> None:
    code = """
    local cjson = require "cjson"
    local s = cjson.decode('"\\\\ud83d\\\\ude00"')
    kong.log.info(#s, " ", s == "\\240\\159\\152\\128")
    """
    assert run(code).log_lines == [("info", "snippet:4: 4 true")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"9007199254740991", b"9007199254740991"),
        (b"-9007199254740991", b"-9007199254740991"),
        (b"1000000000000000", b"1000000000000000"),
        (b"0.1", b"0.1"),
        (b"-0.0", b"0"),
        (b"1.5e300", b"1.5e+300"),
        (b"1e-7", b"1e-07"),
        (b"2.5", b"2.5"),
        (b"0.30000000000000004", b"0.30000000000000004"),
    ],
)
def test_numbers_are_written_exactly_and_briefly(
    run: Run, text: bytes, expected: bytes, json_request: Make
) -> None:
    request = run(ROUND_TRIP, json_request(b"[" + text + b"]"))
    assert request.service_body == b"[" + expected + b"]"
    assert orjson.loads(request.service_body) == orjson.loads(b"[" + text + b"]")


def test_changed_strings_are_escaped(run: Run, json_request: Make) -> None:
    code = r"""
    local body = kong.request.get_body()
    body.s = body.s .. '"\n\\' .. string.char(1)
    body["new\tkey"] = true
    kong.service.request.set_body(body)
    """
    request = run(code, json_request(b'{"s": "' + b"x" * 100 + b'"}'))
    assert request.service_body is not None
    assert orjson.loads(request.service_body) == {"s": "x" * 100 + '"\n\\\x01', "new\tkey": True}


def test_lua_built_tables_follow_cjson_rules(run: Run) -> None:
    code = """
    local cjson = require "cjson"
    kong.service.request.set_raw_body(cjson.encode({
      list = {1, 2, 3},
      holes = {[1] = "a", [3] = "c"},
      empty = {},
      marked = setmetatable({}, cjson.array_mt),
      marked_empty = setmetatable({}, cjson.empty_array_mt),
      sentinel = cjson.empty_array,
      numkeys = {[1] = "a", x = "b"},
      nested = {{}, {k = ngx.null}},
    }))
    """
    request = run(code)
    assert request.service_body is not None
    assert orjson.loads(request.service_body) == {
        "list": [1, 2, 3],
        "holes": ["a", None, "c"],
        "empty": {},
        "marked": [],
        "marked_empty": [],
        "sentinel": [],
        "numkeys": {"1": "a", "x": "b"},
        "nested": [{}, {"k": None}],
    }


def test_decoded_arrays_report_the_cjson_array_mt(run: Run) -> None:
    code = """
    local cjson = require "cjson"
    local t = cjson.decode('{"a": [], "o": {}}')
    kong.log.info(tostring(getmetatable(t.a) == cjson.array_mt), " ", tostring(getmetatable(t.o)))
    """
    assert run(code).log_lines == [("info", "snippet:4: true nil")]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("{f = print}", "Cannot serialise function"),
        ("{0/0}", "must not be NaN or Infinity"),
        ("{[1] = 1, [100] = 2}", "excessively sparse array"),
        ("(function() local t = {} t.t = t return t end)()", "excessive nesting"),
        ("{[true] = 1}", "table key must be a number or string"),
    ],
)
def test_encode_errors(run: Run, expr: str, message: str) -> None:
    code = f"""
    local safe = require "cjson.safe"
    local s, err = safe.encode({expr})
    kong.log.err(tostring(s), " ", err)
    require("cjson").encode({expr})
    """
    with pytest.raises(LuaRuntimeError, match=message) as exc:
        run(code)
    assert exc.value.traceback


def test_decode_errors(run: Run, json_request: Make) -> None:
    code = """
    local safe = require "cjson.safe"
    local v, err = safe.decode("{oops}")
    kong.log.err(tostring(v), " ", err)
    require("cjson").decode("[1,")
    """
    request = json_request(b"{}")
    with pytest.raises(LuaRuntimeError, match="unexpected end of data"):
        run(code, request)
    assert request.log_lines[0][1].startswith("snippet:4: nil unexpected character")


def test_large_decode_is_not_charged_to_the_instruction_budget(
    claude_body: bytes, json_request: Make
) -> None:
    tight = LuaRuntime(max_instructions=50_000)
    request = json_request(claude_body)
    code = "local b = kong.request.get_body() kong.log.info(#b.tools)"
    tight.run(tight.compile(code, "snippet"), request, "access")
    assert request.log_lines == [("info", "snippet:1: 24")]


# the property ----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values, ascii_only=st.booleans())
def test_decode_then_encode_gives_an_equal_value(run: Run, value: Any, ascii_only: bool) -> None:
    if ascii_only:
        text = json.dumps(value, ensure_ascii=True, indent=1).encode()
    else:
        text = orjson.dumps(value)
    assert round_trip(run, text) == value
