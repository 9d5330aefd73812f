"""Failure modes users of other gateways report (docs/failure-modes.md),
through the real gateway with the official SDKs: each request below is one
the real provider refuses when a gateway forwards it naively, and the
emulator behind the gateway refuses it the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
import yaml

from tests.ai.conftest import PROVIDERS, Stack
from tests.ai.expect import raw_events
from tests.ai.fixtures import PNG_BASE64

MISTRAL_MODEL = "mistral-large-latest"
MISTRAL_KEY = "mistral-secret"
DEEPSEEK_MODEL = "deepseek-v4-pro"
#: Claude Code's name for an MCP tool: over OpenAI's and Gemini's 64 characters.
MCP_NAME = "mcp__plugin_chrome-devtools-mcp_chrome-devtools__performance_analyze_insight"
WEATHER = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
OPENAI_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


#: provider -> (model, the emulator's path)
EXTRA_PROVIDERS = {
    "mistral": (MISTRAL_MODEL, "/mistral/v1/chat/completions"),
    "deepseek": (DEEPSEEK_MODEL, "/deepseek/chat/completions"),
}


def _plugin(emulator: str, provider: str, llm_format: str) -> dict[str, Any]:
    model, path = EXTRA_PROVIDERS[provider]
    return {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/chat",
            "llm_format": llm_format,
            "logging": {"log_statistics": True},
            "auth": {"header_name": "Authorization", "header_value": f"Bearer {MISTRAL_KEY}"},
            "model": {
                "provider": provider,
                "name": model,
                "options": {"upstream_url": emulator + path},
            },
        },
    }


@pytest.fixture(scope="module")
def extra(stack: Stack) -> Iterator[Stack]:
    """Routes to providers the shared stack does not configure:
    ``/fm-<provider>`` (Anthropic clients) and ``/fm-oai-<provider>`` (OpenAI clients)."""
    routes = [
        {
            "name": f"{prefix}{provider}",
            "paths": [f"/{prefix}{provider}"],
            "plugins": [_plugin(stack.emulator, provider, llm_format)],
        }
        for provider in EXTRA_PROVIDERS
        for prefix, llm_format in (("fm-", "anthropic"), ("fm-oai-", "openai"))
    ]
    config = {
        "_format_version": "3.0",
        "services": [{"name": "failure-modes", "url": stack.emulator, "routes": routes}],
    }
    stack.apply(yaml.safe_dump(config, sort_keys=False))
    yield stack


def _upstream_bodies(stack: Stack, path_part: str) -> list[dict[str, Any]]:
    return [r["body"] for r in stack.upstream(path_part)]


# -- Mistral: 9-character tool call ids, fields its schema forbids ------------------


def test_claude_code_tool_round_trip_through_mistral(extra: Stack, tag: str) -> None:
    extra.clear_upstream()
    client = extra.anthropic("fm-mistral", tag)
    first = client.messages.create(
        model=MISTRAL_MODEL,
        max_tokens=32000,
        metadata={"user_id": "user_0f6e2b4a1c3d_account__session_5f8a9b0c"},
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": '[[tool get_weather {"city": "Paris"}]]'}],
    )
    call = next(b for b in first.content if b.type == "tool_use")
    assert first.stop_reason == "tool_use"
    # Claude Code's own ids (toolu_...) are in the history too, from an earlier model.
    history: list[Any] = [
        {"role": "user", "content": "Look at the weather."},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_01GlobA1b2C3d4E5f6G7h8J9", "name": "get_weather", "input": {"city": "Oslo"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01GlobA1b2C3d4E5f6G7h8J9", "content": "rain"},
                {"type": "text", "text": '[[tool get_weather {"city": "Paris"}]]'},
            ],
        },
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ]  # fmt: skip
    events = raw_events(
        client,
        model=MISTRAL_MODEL,
        max_tokens=32000,
        metadata={"user_id": "user_0f6e2b4a1c3d_account__session_5f8a9b0c"},
        tools=[WEATHER],
        messages=history,
    )
    text = "".join(
        data["delta"].get("text", "") for name, data in events if name == "content_block_delta"
    )
    assert text == "Tool result: sunny"
    bodies = _upstream_bodies(extra, "/mistral/")
    assert len(bodies) == 2
    second = bodies[1]
    assert not {"user", "stream_options", "max_completion_tokens"} & set(second)
    ids = [c["id"] for m in second["messages"] for c in m.get("tool_calls") or []]
    answers = [m["tool_call_id"] for m in second["messages"] if m["role"] == "tool"]
    assert ids == answers and all(len(i) == 9 and i.isalnum() for i in ids)
    assert ids[1] == call.id  # Mistral's own id goes back unchanged
    record = extra.log_record(tag)
    assert record["ai"]["proxy"]["usage"]["completion_tokens"] > 0


def test_openai_client_through_mistral_keeps_usage(extra: Stack, tag: str) -> None:
    extra.clear_upstream()
    client = extra.openai("fm-oai-mistral", tag)
    kimi_id = "functions.get_weather:0"
    stream = client.chat.completions.create(
        model=MISTRAL_MODEL,
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=500,
        seed=7,
        user="someone",
        tools=[OPENAI_WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": kimi_id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": kimi_id, "content": "sunny"},
        ],
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Tool result: sunny"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert usage and usage[-1].completion_tokens > 0
    (body,) = _upstream_bodies(extra, "/mistral/")
    assert body["random_seed"] == 7 and body["max_tokens"] == 500
    assert not {"user", "stream_options", "max_completion_tokens", "seed"} & set(body)


# -- Claude Code's MCP tool names over 64 characters: OpenAI and Gemini -----------------


@pytest.mark.parametrize("key", ["openai", "gemini", "dashscope"])
def test_long_mcp_tool_name_round_trip(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    tool = {**WEATHER, "name": MCP_NAME}
    prompt = f'[[tool {MCP_NAME[:64]} {{"city": "Paris"}}]]'
    # The emulated model calls the function by the name it was given (the shortened one).
    sent = fresh.upstream(provider.path)
    assert not sent
    counted = client.messages.count_tokens(
        model=provider.model,
        tools=[tool],
        messages=[{"role": "user", "content": "hi"}],  # type: ignore[list-item]
    )
    assert counted.input_tokens > 0
    fresh.clear_upstream()
    first = client.messages.create(
        model=provider.model,
        max_tokens=1000,
        tools=[tool],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "hi"}],
    )
    upstream = fresh.upstream(provider.path)[0]["body"]
    if key == "gemini":
        short = upstream["tools"][0]["functionDeclarations"][0]["name"]
    else:
        short = upstream["tools"][0]["function"]["name"]
    assert len(short) == 64 and first.stop_reason == "end_turn"
    prompt = f'[[tool {short} {{"city": "Paris"}}]]'
    events = raw_events(
        client,
        model=provider.model,
        max_tokens=1000,
        tools=[tool],
        messages=[{"role": "user", "content": prompt}],
    )
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert [(b["type"], b["name"]) for b in starts] == [("tool_use", MCP_NAME)]
    answer = client.messages.create(
        model=provider.model,
        max_tokens=1000,
        tools=[tool],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": prompt},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": starts[0]["id"], "name": MCP_NAME, "input": {"city": "Paris"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": starts[0]["id"], "content": "ok"}]},
        ],
    )  # fmt: skip
    assert answer.content[0].type == "text" and answer.content[0].text == "Tool result: ok"


# -- a conversation moves from Gemini 3 to OpenAI: Gemini-minted ids are too long --------


def test_gemini_minted_ids_continue_on_openai(fresh: Stack, tag: str) -> None:
    gemini = fresh.anthropic("gemini3", tag)
    first = gemini.messages.create(
        model=PROVIDERS["gemini3"].model,
        max_tokens=1000,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": '[[tool get_weather {"city": "Paris"}]]'}],
    )
    call = next(b for b in first.content if b.type == "tool_use")
    assert len(call.id) > 40  # the thought signature travels inside it
    answer = fresh.anthropic("openai", tag).messages.create(
        model=PROVIDERS["openai"].model,
        max_tokens=1000,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": '[[tool get_weather {"city": "Paris"}]]'},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},  # type: ignore[misc]
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
        ],
    )  # fmt: skip
    assert answer.content[0].type == "text" and answer.content[0].text == "Tool result: sunny"


# -- OpenAI-format clients in front of Anthropic ------------------------------------------


def test_openai_client_foreign_ids_whitespace_and_sampling_reach_anthropic(
    fresh: Stack, tag: str
) -> None:
    ids = ["functions.get_weather:0", "call|1"]
    calls = [
        {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        for i in ids
    ]
    client = fresh.openai("oai-anthropic", tag)
    completion = client.chat.completions.create(
        model=PROVIDERS["anthropic"].model,
        temperature=0.3,
        top_p=0.9,
        tools=[OPENAI_WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "\n"}, {"type": "text", "text": "Weather?"}]},
            {"role": "assistant", "content": "\n\n", "tool_calls": calls},
            *({"role": "tool", "tool_call_id": i, "content": f"sunny {n}"} for n, i in enumerate(ids)),
        ],
    )  # fmt: skip
    assert completion.choices[0].message.content == "Tool result: sunny 0\nsunny 1"


@pytest.mark.parametrize("declared", ["image/jpeg", "image/jpg"])
def test_openai_client_mislabelled_image_reaches_anthropic(
    fresh: Stack, tag: str, declared: str
) -> None:
    client = fresh.openai("oai-anthropic", tag)
    completion = client.chat.completions.create(
        model=PROVIDERS["anthropic"].model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "[[reply seen]]"},
                    {"type": "image_url", "image_url": {"url": f"data:{declared};base64,{PNG_BASE64}"}},
                ],
            }
        ],
    )  # fmt: skip
    assert completion.choices[0].message.content == "seen"
    (record,) = fresh.upstream(PROVIDERS["anthropic"].path)
    assert record["body"]["messages"][0]["content"][1]["source"]["media_type"] == "image/png"


def test_naive_requests_are_refused_as_the_real_apis_refuse_them(fresh: Stack, tag: str) -> None:
    """The same constructs sent straight to the emulator (no translation) fail,
    which is what makes the tests above meaningful."""
    anthropic_client = anthropic.Anthropic(
        base_url=fresh.emulator + "/anthropic", api_key="k", max_retries=0
    )
    with pytest.raises(anthropic.BadRequestError, match="String should match pattern"):
        anthropic_client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "functions.f:0", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "functions.f:0", "content": "x"}]},
            ],
        )  # fmt: skip
    openai_client = openai.OpenAI(
        base_url=fresh.emulator + "/openai/v1", api_key="k", max_retries=0
    )
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": {"name": MCP_NAME}}],
        )
    assert caught.value.code == "string_above_max_length"


# -- DeepSeek thinking mode: the reasoning of a tool-call turn must come back ---------


@pytest.mark.parametrize("keep_thinking", [True, False], ids=["thinking-kept", "thinking-dropped"])
def test_claude_code_tool_round_trip_through_deepseek_thinking(
    extra: Stack, tag: str, keep_thinking: bool
) -> None:
    client = extra.anthropic("fm-deepseek", tag)
    prompt = '[[think]] [[tool get_weather {"city": "Paris"}]]'
    first = client.messages.create(
        model=DEEPSEEK_MODEL,
        max_tokens=32000,
        thinking={"type": "enabled", "budget_tokens": 8000},
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": prompt}],
    )
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    call = first.content[1]
    # Claude Code may keep the (unsigned) thinking block or drop it.
    kept = [b.model_dump() for b in first.content if keep_thinking or b.type != "thinking"]
    events = raw_events(
        client,
        model=DEEPSEEK_MODEL,
        max_tokens=32000,
        thinking={"type": "enabled", "budget_tokens": 8000},
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": kept},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},  # type: ignore[union-attr]
        ],
    )  # fmt: skip
    text = "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")
    assert text == "Tool result: sunny"


def test_openai_client_without_reasoning_content_through_deepseek(extra: Stack, tag: str) -> None:
    client = extra.openai("fm-oai-deepseek", tag)
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    completion = client.chat.completions.create(
        model=DEEPSEEK_MODEL,
        tools=[OPENAI_WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    assert completion.choices[0].message.content == "Tool result: sunny"
