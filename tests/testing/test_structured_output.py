"""Structured output on the emulators: the schema rules the real APIs enforce,
with their errors, and answers that are JSON of the schema."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from .conftest import ANTHROPIC, OPENAI, Raw

MSG = "/v1/messages"
OPEN = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CLOSED = {**OPEN, "additionalProperties": False}


def _anthropic(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "Which city?"}],
        **extra,
    }


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (OPEN, "For 'object' type, 'additionalProperties' must be explicitly set to false"),
        (
            {**OPEN, "additionalProperties": True},
            "For 'object' type, 'additionalProperties: true' is not supported. "
            "Please set 'additionalProperties' to false",
        ),
        (
            {**CLOSED, "properties": {"n": {"type": "integer", "minimum": 1}}, "required": []},
            "For 'integer' type, property 'minimum' is not supported",
        ),
        (
            {**CLOSED, "properties": {"c": {"oneOf": [{"type": "string"}]}}, "required": []},
            "Schema type 'oneOf' is not supported",
        ),
        (
            {**CLOSED, "properties": {"any": {}}, "required": []},
            "Empty schema ({}) that accepts any JSON value is not supported.",
        ),
    ],
    ids=["open-object", "additional-true", "minimum", "oneOf", "empty"],
)
async def test_anthropic_refuses_schemas_outside_the_subset(
    raw: Raw, schema: dict[str, Any], message: str
) -> None:
    for field, extra in (
        ("output_config.format.schema", {"output_config": {"format": {"type": "json_schema", "schema": schema}}}),
        ("output_format.schema", {"output_format": {"type": "json_schema", "schema": schema}}),
    ):  # fmt: skip
        answer = await raw.post(MSG, _anthropic(**extra), ANTHROPIC)
        assert answer.status == 400, answer.text
        error = answer.json["error"]
        assert error["type"] == "invalid_request_error"
        assert error["message"] == f"{field}: {message}"


async def test_anthropic_answers_json_of_the_schema(raw: Raw) -> None:
    fmt = {"type": "json_schema", "schema": CLOSED}
    for extra in ({"output_config": {"format": fmt}}, {"output_format": fmt}):
        answer = await raw.post(MSG, _anthropic(**extra), ANTHROPIC)
        assert answer.status == 200, answer.text
        assert orjson.loads(answer.json["content"][0]["text"]) == {"city": "Emulated city"}


async def test_anthropic_forced_tool_is_called_with_fitting_arguments(raw: Raw) -> None:
    tools = [{"name": "answer", "input_schema": {"type": "object"}}]
    answer = await raw.post(
        MSG,
        _anthropic(tools=tools, tool_choice={"type": "tool", "name": "answer"}),
        ANTHROPIC,
    )
    assert answer.status == 200, answer.text
    message = answer.json
    assert message["stop_reason"] == "tool_use"
    [use] = [b for b in message["content"] if b["type"] == "tool_use"]
    assert use["name"] == "answer" and use["input"] == {"reply": "Which city?"}


# ---------------------------------------------------------------------- Gemini

GEMINI_KEY = {"x-goog-api-key": "AIza-test"}
DECLARATION = {
    "name": "get_weather",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
}
RESPONSE_SCHEMA = {
    "type": "OBJECT",
    "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}},
    "required": ["city", "days"],
}


def _gemini(**config: Any) -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": "Which city?"}]}],
        "tools": [{"functionDeclarations": [DECLARATION]}],
        "generationConfig": {"responseMimeType": "application/json", **config},
    }


async def test_gemini_2_refuses_json_mode_beside_function_calling(raw: Raw) -> None:
    answer = await raw.post(
        "/v1beta/models/gemini-2.5-flash:generateContent", _gemini(), GEMINI_KEY
    )
    assert answer.status == 400, answer.text
    assert answer.json["error"]["status"] == "INVALID_ARGUMENT"
    assert answer.json["error"]["message"] == (
        "Function calling with a response mime type: 'application/json' is unsupported"
    )


async def test_gemini_3_takes_both_and_answers_json_of_the_schema(raw: Raw) -> None:
    answer = await raw.post(
        "/v1beta/models/gemini-3-pro-preview:generateContent",
        _gemini(responseSchema=RESPONSE_SCHEMA),
        GEMINI_KEY,
    )
    assert answer.status == 200, answer.text
    text = answer.json["candidates"][0]["content"]["parts"][0]["text"]
    assert orjson.loads(text) == {"city": "Emulated city", "days": 0}


async def test_gemini_response_schema_follows_the_schema_rules(raw: Raw) -> None:
    bad = {"type": "STRING", "properties": {"x": {"type": "STRING"}}}
    answer = await raw.post(
        "/v1beta/models/gemini-3-pro-preview:generateContent",
        _gemini(responseSchema=bad),
        GEMINI_KEY,
    )
    assert answer.status == 400, answer.text
    assert answer.json["error"]["message"] == (
        "* GenerateContentRequest.generation_config.response_schema.properties: "
        "only allowed for OBJECT type\n"
    )


# ---------------------------------------------------------------------- OpenAI


async def test_openai_strict_response_format_follows_strict_rules(raw: Raw) -> None:
    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Which city?"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "trip", "schema": schema, "strict": True},
            },
        }

    answer = await raw.post("/v1/chat/completions", body(OPEN), OPENAI)
    assert answer.status == 400, answer.text
    error = answer.json["error"]
    assert error["message"] == (
        "Invalid schema for response_format 'trip': In context=(), 'additionalProperties' is "
        "required to be supplied and to be false."
    )
    assert error["param"] == "response_format" and error["code"] == "invalid_json_schema"
    ok = await raw.post("/v1/chat/completions", body(CLOSED), OPENAI)
    assert ok.status == 200, ok.text
    content = ok.json["choices"][0]["message"]["content"]
    assert orjson.loads(content) == {"city": "Emulated city"}
