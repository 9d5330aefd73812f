"""OpenAI-format clients (the official ``openai`` SDK, ``llm_format: openai``)
through the real gateway: passthrough to OpenAI, translation to the others."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.ai.conftest import PROVIDERS, Stack
from tests.ai.expect import log_usage, native_request
from tests.ai.fixtures import PNG_BASE64
from tests.llm.wire.anthropic_events import parse_sse

KEYS = ["openai", "anthropic", "gemini", "gemini-public", "hf", "dashscope"]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def _single(stack: Stack, key: str) -> dict[str, Any]:
    records = stack.upstream(PROVIDERS[key].path)
    assert len(records) == 1, [r["path"] for r in stack.upstream()]
    return records[0]


@pytest.mark.parametrize("key", KEYS)
def test_plain(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    # No max_tokens: Anthropic requires one, the gateway must supply it.
    completion = client.chat.completions.create(
        model=provider.model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": f"[[reply plain from {key}]]"},
        ],
    )
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == f"plain from {key}"
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    body = native_request(_single(fresh, key), provider, stream=False)
    if provider.name == "anthropic":
        assert body["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
        assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0
    elif provider.name == "gemini":
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    elif provider.name == "openai":
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    record = fresh.log_record(tag)
    log_usage(record, provider, mode="oneshot", cost=provider.name == "openai")
    assert record["response"]["headers"]["x-kong-llm-model"] == f"{provider.name}/{provider.model}"


@pytest.mark.parametrize("key", KEYS)
def test_stream_with_usage_chunk(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    stream = client.chat.completions.create(
        model=provider.model,
        messages=[{"role": "user", "content": "[[reply red green blue white]] [[chunks 4]]"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "red green blue white"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1
    native_request(_single(fresh, key), provider, stream=True)
    log_usage(fresh.log_record(tag), provider, mode="stream", cost=provider.name == "openai")
    # The raw stream: well-formed chunks, then [DONE].
    with client.chat.completions.with_streaming_response.create(
        model=provider.model,
        messages=[{"role": "user", "content": "[[reply once more]]"}],
        stream=True,
    ) as response:
        events = parse_sse(response.read())
    assert events[-1][1] == "[DONE]"
    for _, data in events[:-1]:
        assert data["object"] == "chat.completion.chunk"
        assert "usage" not in data or data["usage"] is None  # not asked for


@pytest.mark.parametrize("key", [*KEYS, "gemini3"])
def test_tool_round_trip(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    question = {"role": "user", "content": '[[tool get_weather {"city": "Lima", "days": 3}]]'}
    stream = client.chat.completions.create(
        model=provider.model, messages=[question], tools=[WEATHER], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = delta.id or call["id"]
            if delta.function is not None:
                call["name"] = delta.function.name or call["name"]
                call["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert list(calls) == [0]
    call = calls[0]
    assert call["name"] == "get_weather" and call["id"]
    assert json.loads(call["arguments"]) == {"city": "Lima", "days": 3}
    history: list[Any] = [
        question,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call["arguments"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "foggy, 14 degrees"},
    ]
    final = client.chat.completions.create(model=provider.model, messages=history, tools=[WEATHER])
    assert final.choices[0].finish_reason == "stop"
    assert "foggy, 14 degrees" in (final.choices[0].message.content or "")
    records = fresh.upstream(provider.path)
    assert len(records) == 2
    native_request(records[0], provider, stream=True, usage_asked=False)
    body = native_request(records[1], provider, stream=False)
    if provider.name == "anthropic":
        assistant, result = body["messages"][1], body["messages"][2]
        use = next(b for b in assistant["content"] if b["type"] == "tool_use")
        assert use["id"] == call["id"] and use["input"] == {"city": "Lima", "days": 3}
        assert result["content"][0]["type"] == "tool_result"
        assert result["content"][0]["tool_use_id"] == call["id"]
        assert body["tools"][0]["input_schema"]["properties"]["city"] == {"type": "string"}
    elif provider.name == "gemini":
        parts = [p for c in body["contents"] for p in c["parts"]]
        assert any(p.get("functionCall", {}).get("name") == "get_weather" for p in parts)
        response = next(p["functionResponse"] for p in parts if "functionResponse" in p)
        assert response["name"] == "get_weather"
        assert "additionalProperties" not in json.dumps(body["tools"])
    else:
        assert body["messages"][2]["tool_call_id"] == call["id"]
    # The streamed call asked for no usage chunk: the log estimates, never zeros.
    streamed = fresh.log_records(tag, 2)[0]["ai"]["proxy"]["usage"]
    assert streamed["prompt_tokens"] > 0 and streamed["completion_tokens"] > 0


RATE_LIMIT_WORDS = {
    "openai": "Rate limit reached for",
    "anthropic": "would exceed the rate limit",
    "gemini": "Resource exhausted",
    "hf": "Rate limit reached",
    "dashscope": "Requests rate limit exceeded",
}


@pytest.mark.parametrize("key", ["openai", "anthropic", "gemini", "hf", "dashscope"])
def test_errors_keep_status_and_message(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)

    def ask(prompt: str, stream: bool = False) -> Any:
        return client.chat.completions.create(
            model=provider.model, messages=[{"role": "user", "content": prompt}], stream=stream
        )

    with pytest.raises(openai.RateLimitError) as limited:
        ask("[[fail 429]]")
    assert limited.value.status_code == 429
    assert RATE_LIMIT_WORDS[key] in limited.value.message
    with pytest.raises(openai.RateLimitError):
        ask("[[fail 429]]", stream=True)
    with pytest.raises(openai.InternalServerError) as broken:
        ask("[[fail 500]]")
    assert broken.value.status_code == 500
    overloaded = 529 if key == "anthropic" else 503
    with pytest.raises(openai.InternalServerError) as busy:
        ask(f"[[fail {overloaded}]]")
    assert (
        busy.value.status_code == 503
    )  # Anthropic's 529 is not an HTTP status OpenAI clients know
    statuses = [r["response"]["status"] for r in fresh.log_records(tag, 4)]
    assert statuses == [429, 429, 500, 503]


@pytest.mark.parametrize("key", ["openai", "anthropic", "gemini", "hf", "dashscope"])
def test_stream_cut_midway_raises(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    received = []
    with pytest.raises(openai.APIError) as caught:
        stream = client.chat.completions.create(
            model=provider.model,
            messages=[
                {"role": "user", "content": "[[reply a b c d e f g h]] [[chunks 8]] [[cut 4]]"}
            ],
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert received and "".join(received) != "a b c d e f g h"
    assert not isinstance(caught.value, openai.APIConnectionError)  # an error chunk, not a drop
    after = client.chat.completions.create(
        model=provider.model, messages=[{"role": "user", "content": "[[reply still up]]"}]
    )
    assert after.choices[0].message.content == "still up"


def test_openai_passthrough_is_byte_faithful(fresh: Stack, tag: str) -> None:
    provider = PROVIDERS["openai"]
    client = fresh.openai("oai-openai", tag)
    request = {
        "model": provider.model,
        "messages": [{"role": "user", "content": "[[reply same bytes]]"}],
        "temperature": 0.3,
        "seed": 11,
        "user": "someone",
    }
    completion = client.chat.completions.create(**request)
    assert completion.choices[0].message.content == "same bytes"
    assert _single(fresh, "openai")["body"] == request


@pytest.mark.parametrize("key", ["openai", "anthropic", "gemini", "hf", "dashscope"])
def test_midstream_upstream_error_is_one_error_chunk(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    with client.chat.completions.with_streaming_response.create(
        model=provider.model,
        messages=[
            {"role": "user", "content": "[[reply a b c d e f]] [[chunks 6]] [[fail 429 after 3]]"}
        ],
        stream=True,
    ) as response:
        events = parse_sse(response.read())
    data = [d for _, d in events if d != "[DONE]"]
    errors = [d for d in data if isinstance(d, dict) and "error" in d]
    assert len(errors) == 1, data
    assert data[-1] is errors[0]  # nothing but [DONE] may follow it
    assert errors[0]["error"]["message"]
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(
            model=provider.model,
            messages=[
                {"role": "user", "content": "[[reply a b c d]] [[chunks 4]] [[fail 429 after 2]]"}
            ],
            stream=True,
        ):
            pass


@pytest.mark.parametrize("key", ["anthropic", "gemini"])
def test_image_and_max_completion_tokens_translate(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.openai(f"oai-{key}", tag)
    completion = client.chat.completions.create(
        model=provider.model,
        max_completion_tokens=300,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "[[reply a picture]]"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PNG_BASE64}"},
                    },
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "a picture"
    body = native_request(_single(fresh, key), provider, stream=False)
    if provider.name == "anthropic":
        assert body["max_tokens"] == 300
        image = body["messages"][0]["content"][1]
        assert image["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_BASE64}
    else:
        assert body["generationConfig"]["maxOutputTokens"] == 300
        parts = body["contents"][0]["parts"]
        assert {"inlineData": {"mimeType": "image/png", "data": PNG_BASE64}} in parts
