"""Structured output through the real gateway, OpenAI-format clients (the
official ``openai`` SDK) in front of every provider: ``response_format``
reaches each upstream in its own terms and the answer is JSON; and the
Anthropic format beside tools on Gemini."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ai.conftest import PROVIDERS, Stack
from tests.ai.expect import OPENAI_COMPATIBLE, native_request, single_upstream
from tests.ai.fixtures import WEATHER_TOOL

KEYS = ["anthropic", "gemini", "gemini3", "openai", "hf", "dashscope"]

#: Open objects and bounds: fine for OpenAI's non-strict mode, outside
#: Anthropic's subset until the gateway reduces it.
TRIP = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer", "minimum": 1, "maximum": 30},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "days", "tags"],
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "trip", "schema": TRIP}}


@pytest.mark.parametrize("key", KEYS)
def test_json_schema(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    completion = client.chat.completions.create(
        model=provider.model,
        messages=[{"role": "user", "content": "Plan a trip as JSON."}],
        response_format=JSON_SCHEMA,  # type: ignore[arg-type]
    )
    answer = json.loads(completion.choices[0].message.content or "")
    assert set(answer) == {"city", "days", "tags"}
    assert isinstance(answer["city"], str) and isinstance(answer["days"], int)
    assert completion.choices[0].finish_reason == "stop"
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    if provider.name == "anthropic":
        schema = body["output_config"]["format"]["schema"]
        assert schema["additionalProperties"] is False
        assert schema["properties"]["days"] == {
            "type": "integer",
            "description": "{minimum: 1, maximum: 30}",
        }
        assert "tools" not in body
    elif provider.name == "gemini":
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseSchema"]["required"] == ["city", "days", "tags"]
    else:
        assert body["response_format"] == JSON_SCHEMA


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
@pytest.mark.parametrize("key", KEYS)
def test_json_object(fresh: Stack, tag: str, key: str, stream: bool) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    kwargs: dict[str, Any] = {
        "model": provider.model,
        "messages": [{"role": "user", "content": "Reply in JSON: which city?"}],
        "response_format": {"type": "json_object"},
    }
    if stream:
        parts: list[str] = []
        finish = None
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            if chunk.choices:
                assert not chunk.choices[0].delta.tool_calls
                parts.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
        text = "".join(parts)
    else:
        completion = client.chat.completions.create(**kwargs)
        assert not completion.choices[0].message.tool_calls
        text = completion.choices[0].message.content or ""
        finish = completion.choices[0].finish_reason
    assert isinstance(json.loads(text), dict), text
    assert finish == "stop"
    record = single_upstream(fresh, provider)
    # OpenAI-compatible upstreams are a passthrough: the body stays the client's own.
    body = native_request(
        record, provider, stream=stream, usage_asked=provider.name not in OPENAI_COMPATIBLE
    )
    if provider.name == "anthropic":
        # Anthropic's format cannot say "any object": a forced tool whose input is the answer.
        assert "output_config" not in body
        assert body["tool_choice"] == {"type": "tool", "name": body["tools"][0]["name"]}
        assert body["tools"][0]["input_schema"] == {"type": "object"}
    elif provider.name == "gemini":
        assert body["generationConfig"]["responseMimeType"] == "application/json"
    else:
        assert body["response_format"] == {"type": "json_object"}
    assert provider.name in (*OPENAI_COMPATIBLE, "anthropic", "gemini")


_CLOSED_TRIP = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("key", ["gemini", "gemini3"])
def test_anthropic_format_beside_tools_on_gemini(fresh: Stack, tag: str, key: str) -> None:
    """Gemini 3 takes JSON mode beside function declarations; Gemini 2.5
    refuses the pair, so there the tools win and the format is dropped."""
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=512,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Plan a trip."}],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": _CLOSED_TRIP}}},
    )
    assert message.stop_reason == "end_turn"
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    config = body.get("generationConfig", {})
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    text = message.content[-1].text  # type: ignore[union-attr]
    if key == "gemini3":
        assert config["responseMimeType"] == "application/json"
        assert json.loads(text) == {"city": "Emulated city", "days": 0}
    else:
        assert "responseMimeType" not in config and "responseSchema" not in config
        assert text.startswith("Hello from the gemini emulator")
