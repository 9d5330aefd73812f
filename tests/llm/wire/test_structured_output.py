"""Structured output from an OpenAI client to Anthropic: ``response_format`` ->
``output_config.format`` (schema reduced to Anthropic's subset) or, for
``json_object``, a forced tool whose input is the answer; and both clients'
formats beside tools on Gemini."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.llm.wire.anthropic_events import parse_sse, replay_openai_stream

from lockgate.llm.wire.anthropic_gemini import anthropic_to_gemini_request
from lockgate.llm.wire.anthropic_schema import anthropic_output_schema
from lockgate.llm.wire.openai_anthropic import (
    JSON_OBJECT_TOOL,
    anthropic_to_openai_response,
    json_object_tool,
    openai_to_anthropic_request,
)
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream
from lockgate.llm.wire.openai_gemini import openai_to_gemini_request
from lockgate.testing.emulator.anthropic_structured import structured_schema_problem

FIELD = "output_config.format.schema"


def _accepted(schema: dict[str, Any]) -> None:
    assert structured_schema_problem(schema, FIELD) is None, schema


def _request(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt", "messages": [{"role": "user", "content": "JSON?"}]}
    body.update(fields)
    return body


# ------------------------------------------------------------------ the schema


def test_objects_are_closed_and_bounds_move_to_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": 10, "description": "A number"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "format": "zip-code"},
        },
        "required": ["n", "ghost"],
    }
    assert anthropic_output_schema(schema) == {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "description": "A number\n\n{minimum: 1, maximum: 10}"},
            "tags": {
                "type": "array",
                "items": {"type": "string", "description": "{maxLength: 5}"},
                "description": "{maxItems: 3}",
            },
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "description": "{format: zip-code}"},
        },
        "required": ["n"],
        "additionalProperties": False,
    }


def test_unions_type_lists_and_any_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "one": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
            "maybe": {"type": ["string", "null"], "description": "or nothing"},
            "anything": {},
            "open": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": True,
    }
    out = anthropic_output_schema(schema)
    props = out["properties"]
    assert props["one"] == {
        "anyOf": [{"type": "string"}, {"type": "integer", "description": "{minimum: 0}"}]
    }
    assert props["maybe"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "or nothing",
    }
    assert {b["type"] for b in props["anything"]["anyOf"]} == {
        "string",
        "number",
        "boolean",
        "null",
    }
    assert props["open"] == {"type": "object", "properties": {}, "additionalProperties": False}
    assert out["additionalProperties"] is False
    _accepted(out)


def test_refs_and_defs_are_kept() -> None:
    schema = {
        "$defs": {"Step": {"type": "object", "properties": {"s": {"type": "string"}}}},
        "type": "object",
        "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}}},
        "required": ["steps"],
    }
    out = anthropic_output_schema(schema)
    assert out["$defs"]["Step"]["additionalProperties"] is False
    assert out["properties"]["steps"]["items"] == {"$ref": "#/$defs/Step"}
    _accepted(out)


def test_the_input_schema_is_never_modified() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "minimum": 3}}}
    before = copy.deepcopy(schema)
    anthropic_output_schema(schema)
    assert schema == before


_SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "string", "minLength": 2, "pattern": "^a"},
        {"type": "string", "format": "email"},
        {"type": "string", "format": "binary"},
        {"type": "integer", "minimum": 0, "multipleOf": 2},
        {"type": "number", "exclusiveMaximum": 3},
        {"type": "boolean"},
        {"type": "null"},
        {"enum": ["a", "b", 3]},
        {"enum": [{"x": 1}]},
        {"const": "fixed"},
        {},
        {"description": "anything at all"},
        {"type": ["integer", "string", "null"]},
    ]
)


def _compound(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    props = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), children, max_size=3)
    return st.one_of(
        st.builds(
            lambda p, extra, req: {
                "type": "object",
                "properties": p,
                "required": req,
                **extra,
            },
            props,
            st.sampled_from(
                [{}, {"additionalProperties": True}, {"additionalProperties": {"type": "string"}}]
            ),
            st.lists(st.sampled_from(["a", "b", "x"]), max_size=2),
        ),
        st.builds(
            lambda i, n: {"type": "array", "items": i, "minItems": n}, children, st.integers(0, 4)
        ),
        st.builds(
            lambda bs: {"anyOf": bs, "type": "object"}, st.lists(children, min_size=1, max_size=3)
        ),
        st.builds(lambda bs: {"oneOf": bs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c, "type": "string"}, children),
        st.builds(lambda i: {"type": "array", "items": [i, i], "uniqueItems": True}, children),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_SCALARS, _compound, max_leaves=12))
def test_every_reduced_schema_is_one_anthropic_compiles(schema: Any) -> None:
    """Whatever an OpenAI client sends, the emulator (the API's rules) accepts the result."""
    _accepted(anthropic_output_schema(schema))


def test_the_emulator_rules_refuse_what_the_api_refuses() -> None:
    cases = {
        "For 'object' type, 'additionalProperties' must be explicitly set to false": {
            "type": "object",
            "properties": {},
        },
        "Schema type 'oneOf' is not supported": {"oneOf": [{"type": "string"}]},
        "For 'integer' type, property 'minimum' is not supported": {
            "type": "integer",
            "minimum": 1,
        },
        "Empty schema ({}) that accepts any JSON value is not supported.": {
            "type": "object",
            "properties": {"x": {}},
            "additionalProperties": False,
        },
        "For 'anyOf', 'type' is not supported": {"type": "string", "anyOf": [{"type": "string"}]},
        "Circular reference detected in schema definitions: N -> N": {
            "$defs": {
                "N": {
                    "type": "object",
                    "properties": {"n": {"$ref": "#/$defs/N"}},
                    "additionalProperties": False,
                }
            },
            "$ref": "#/$defs/N",
        },
    }
    for message, schema in cases.items():
        assert structured_schema_problem(schema, FIELD) == f"{FIELD}: {message}"


# ------------------------------------------------------------------ the request


def test_json_schema_becomes_output_config_format() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = _request(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "trip", "schema": schema, "strict": True},
        }
    )
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert out["output_config"] == {
        "format": {"type": "json_schema", "schema": {**schema, "additionalProperties": False}}
    }
    assert "tools" not in out and "tool_choice" not in out
    assert json_object_tool(body) is None


def test_json_object_is_a_forced_tool_with_an_open_object_input() -> None:
    body = _request(response_format={"type": "json_object"})
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert json_object_tool(body) == JSON_OBJECT_TOOL
    assert [t["name"] for t in out["tools"]] == [JSON_OBJECT_TOOL]
    assert out["tools"][0]["input_schema"] == {"type": "object"}
    assert out["tool_choice"] == {"type": "tool", "name": JSON_OBJECT_TOOL}
    assert "output_config" not in out and "system" not in out


def test_json_schema_without_a_schema_is_json_object() -> None:
    body = _request(response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    assert json_object_tool(body) == JSON_OBJECT_TOOL


@pytest.mark.parametrize(
    "extra",
    [
        {"reasoning_effort": "medium"},
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
    ],
    ids=["thinking", "client-tools"],
)
def test_json_object_with_thinking_or_tools_is_an_instruction(extra: dict[str, Any]) -> None:
    body = _request(response_format={"type": "json_object"}, **extra)
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert json_object_tool(body) is None
    assert "JSON object" in out["system"][-1]["text"]
    assert JSON_OBJECT_TOOL not in [t["name"] for t in out.get("tools", [])]
    if "reasoning_effort" in extra:
        assert out["thinking"]["type"] == "enabled"  # not refused beside a forced tool


# ------------------------------------------------------------------ the response


_ANSWER = {"city": "Lima", "days": 3}


def test_the_forced_call_is_the_content() -> None:
    upstream = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": JSON_OBJECT_TOOL, "input": _ANSWER}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    out, _ = anthropic_to_openai_response(upstream, "m", created=1, json_tool=JSON_OBJECT_TOOL)
    message = out["choices"][0]["message"]
    assert orjson.loads(message["content"]) == _ANSWER
    assert "tool_calls" not in message
    assert out["choices"][0]["finish_reason"] == "stop"
    # Without the json_object request, the same call stays a tool call.
    plain, _ = anthropic_to_openai_response(upstream, "m", created=1)
    assert plain["choices"][0]["finish_reason"] == "tool_calls"


def test_the_streamed_forced_call_is_streamed_content() -> None:
    raw_json = orjson.dumps(_ANSWER).decode()
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-6",
                "content": [],
                "usage": {"input_tokens": 10, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_1",
                "name": JSON_OBJECT_TOOL,
                "input": {},
            },
        },
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": raw_json[i : i + 5]},
            }
            for i in range(0, len(raw_json), 5)
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    translator = AnthropicToOpenAIStream("m", True, created=1, json_tool=JSON_OBJECT_TOOL)
    raw = b"".join(translator.feed(e) for e in events) + translator.finish()
    chunks = [d for _, d in parse_sse(raw) if d != "[DONE]"]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert orjson.loads(content) == _ANSWER
    assert not any("tool_calls" in c["choices"][0]["delta"] for c in chunks if c["choices"])
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop"
    completion = replay_openai_stream(raw)
    assert orjson.loads(completion.choices[0].message.content or "") == _ANSWER


# ------------------------------------------------------------------ Gemini


_TOOL = {"name": "f", "input_schema": {"type": "object", "properties": {}}}
_FORMAT = {
    "type": "json_schema",
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


@pytest.mark.parametrize(
    ("model", "kept"),
    [("gemini-2.5-flash", False), ("gemini-2.0-flash", False), ("gemini-3-pro-preview", True)],
)
def test_gemini_json_mode_beside_tools_only_from_gemini_3(model: str, kept: bool) -> None:
    anthropic_body = {
        "model": model,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [_TOOL],
        "output_config": {"format": _FORMAT},
    }
    config = anthropic_to_gemini_request(anthropic_body, model=model).get("generationConfig", {})
    assert ("responseMimeType" in config) is kept
    assert ("responseSchema" in config) is kept
    openai_body = _request(
        model=model,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": _FORMAT["schema"]},
        },
    )
    config = openai_to_gemini_request(openai_body, model=model).get("generationConfig", {})
    assert ("responseSchema" in config) is kept
    if kept:
        assert config["responseSchema"]["required"] == ["city"]
        assert "additionalProperties" not in orjson.dumps(config).decode()
