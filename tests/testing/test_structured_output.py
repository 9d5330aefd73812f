"""Structured output on the emulators: the schema rules the real APIs enforce,
with their errors, and answers that are JSON of the schema."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from .conftest import ANTHROPIC, Raw

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
