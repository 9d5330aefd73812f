"""Claude on Vertex AI through the real gateway (``provider: gemini`` with a
Claude model name): Anthropic and OpenAI SDK clients, the upstream request
as Vertex wants it, usage in the log."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import anthropic
import pytest
import yaml

from tests.ai.conftest import CLIENT_KEY, TAG_HEADER, Stack
from tests.ai.fixtures import WEATHER_TOOL

MODEL = "claude-sonnet-4-5@20250929"
MODELS = "/v1/projects/lockgate-ai/locations/us-east5/publishers/anthropic/models"


@pytest.fixture(scope="module")
def vertex(stack: Stack) -> Stack:
    account = json.dumps(_post(stack.emulator + "/_emulator/service-account", {}))

    def plugin(llm_format: str) -> dict[str, Any]:
        return {
            "name": "ai-proxy",
            "config": {
                "route_type": "llm/v1/chat",
                "llm_format": llm_format,
                "auth": {"gcp_use_service_account": True, "gcp_service_account_json": account},
                "model": {
                    "provider": "gemini",
                    "name": MODEL,
                    "options": {
                        "gemini": {
                            "api_endpoint": stack.emulator,
                            "project_id": "lockgate-ai",
                            "location_id": "us-east5",
                        }
                    },
                },
            },
        }

    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "vertex-claude",
                "url": stack.emulator,
                "routes": [
                    {"name": "vc", "paths": ["/vc"], "plugins": [plugin("anthropic")]},
                    {"name": "oai-vc", "paths": ["/oai-vc"], "plugins": [plugin("openai")]},
                ],
            }
        ],
    }
    stack.apply(yaml.safe_dump(config, sort_keys=False))
    return stack


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def upstream(stack: Stack) -> list[dict[str, Any]]:
    return [
        r for r in stack.upstream("/publishers/anthropic/") if r["provider"] == "vertex_anthropic"
    ]


def check_vertex_request(record: dict[str, Any]) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in record["headers"].items()}
    assert headers["authorization"].startswith("Bearer ")
    assert CLIENT_KEY not in json.dumps(headers)
    assert "anthropic-version" not in headers
    assert record["query"] == ""  # Claude Code's ?beta=true stays at the gateway
    body: dict[str, Any] = record["body"]
    assert next(iter(body)) == "anthropic_version" and "model" not in body
    assert body["anthropic_version"] == "vertex-2023-10-16"
    return body


def test_anthropic_client_text_reaches_raw_predict(vertex: Stack, tag: str) -> None:
    vertex.clear_upstream()
    client = vertex.anthropic("vc", tag)
    message = client.messages.create(
        model=MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "Say it: [[reply hello from vertex]]"}],
    )
    assert message.content[0].type == "text" and message.content[0].text == "hello from vertex"
    [record] = upstream(vertex)
    assert record["path"] == f"{MODELS}/{MODEL}:rawPredict"
    body = check_vertex_request(record)
    assert list(body) == ["anthropic_version", "max_tokens", "messages"]
    proxy = vertex.log_record(tag)["ai"]["proxy"]
    assert proxy["meta"]["provider_name"] == "gemini"
    assert proxy["meta"]["request_model"] == MODEL
    assert proxy["usage"]["prompt_tokens"] > 0 and proxy["usage"]["completion_tokens"] > 0
    assert proxy["usage"]["cost"] > 0  # Anthropic's list prices


def test_claude_code_stream_with_betas_and_a_tool_round_trip(vertex: Stack, tag: str) -> None:
    vertex.clear_upstream()
    url = f"{vertex.gw.proxy_url}/vc/v1/messages?beta=true"
    headers = {
        "x-api-key": CLIENT_KEY,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,"
        "prompt-caching-scope-2026-01-05,effort-2025-11-24",
        TAG_HEADER: tag,
    }
    first = {
        "model": MODEL,
        "max_tokens": 64000,
        "stream": True,
        "tools": [WEATHER_TOOL],
        "messages": [
            {
                "role": "user",
                "content": 'Weather? [[tool get_weather {"city":"Paris"}]]',
            }
        ],
    }
    events = _stream(url, first, headers)
    tool = next(
        e["content_block"]
        for e in events
        if e.get("type") == "content_block_start" and e["content_block"]["type"] == "tool_use"
    )
    assert tool["name"] == "get_weather"
    second = dict(first)
    second["messages"] = [
        *first["messages"],
        {"role": "assistant", "content": [{**tool, "input": {"city": "Paris"}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": tool["id"], "content": "sunny, 21C"}
            ],
        },
    ]
    events = _stream(url, second, headers)
    text = "".join(
        e["delta"].get("text", "") for e in events if e.get("type") == "content_block_delta"
    )
    assert text and events[-1]["type"] == "message_stop"
    records = upstream(vertex)
    assert [r["path"] for r in records] == [f"{MODELS}/{MODEL}:streamRawPredict"] * 2
    for record in records:
        body = check_vertex_request(record)
        # The client's body in its order, max_tokens lowered to the model's.
        assert list(body) == ["anthropic_version", "max_tokens", "stream", "tools", "messages"]
        assert body["max_tokens"] == 64000
        beta = {k.lower(): v for k, v in record["headers"].items()}["anthropic-beta"]
        assert beta == "interleaved-thinking-2025-05-14"
    proxy = vertex.log_records(tag, 2)[-1]["ai"]["proxy"]
    assert proxy["meta"]["request_mode"] == "stream"
    assert proxy["usage"]["completion_tokens"] > 0 and not proxy["usage"].get("estimated")


def _stream(url: str, body: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read().decode()
    return [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]


def test_count_tokens_uses_vertex_count_tokens(vertex: Stack, tag: str) -> None:
    vertex.clear_upstream()
    counted = vertex.anthropic("vc", tag).messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "count me please"}]
    )
    assert counted.input_tokens > 0
    [record] = upstream(vertex)
    assert record["path"] == f"{MODELS}/count-tokens:rawPredict"
    assert record["body"]["anthropic_version"] == "vertex-2023-10-16"
    assert record["body"]["model"] == MODEL


def test_openai_client_text_stream_and_tool(vertex: Stack, tag: str) -> None:
    vertex.clear_upstream()
    client = vertex.openai("oai-vc", tag)
    answer = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "[[reply openai to vertex]]"}],
    )
    assert answer.choices[0].message.content == "openai to vertex"
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            stream=True,
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": WEATHER_TOOL["name"],
                        "description": WEATHER_TOOL["description"],
                        "parameters": WEATHER_TOOL["input_schema"],
                    },
                }
            ],
            messages=[{"role": "user", "content": '[[tool get_weather {"city":"Oslo"}]]'}],
        )
    )
    calls = [
        c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls
    ]
    assert calls and calls[0][0].function.name == "get_weather"
    records = upstream(vertex)
    assert [r["path"].rsplit(":", 1)[1] for r in records] == ["rawPredict", "streamRawPredict"]
    for record in records:
        check_vertex_request(record)


def test_errors_reach_the_client_as_anthropic_errors(vertex: Stack, tag: str) -> None:
    client = vertex.anthropic("vc", tag)
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "[[fail 429]]"}]
        )
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "[[fail 529]]"}]
        )
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    with pytest.raises(anthropic.APIStatusError, match="overloaded"):
        with client.messages.stream(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": "[[fail 529 after 3]] [[reply a b c d e f]]"}],
        ) as stream:
            stream.get_final_message()


def test_signed_thinking_goes_back_unchanged(vertex: Stack, tag: str) -> None:
    client = vertex.anthropic("vc", tag)
    thinking = {"type": "enabled", "budget_tokens": 2048}
    with client.messages.stream(
        model=MODEL,
        max_tokens=4096,
        thinking=thinking,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "[[think]] [[reply thought]]"}],
    ) as stream:
        first = stream.get_final_message()
    assert [b.type for b in first.content] == ["thinking", "text"]
    # The emulator refuses a thinking block whose signature was altered.
    again = client.messages.create(
        model=MODEL,
        max_tokens=4096,
        thinking=thinking,  # type: ignore[arg-type]
        messages=[
            {"role": "user", "content": "[[think]] [[reply thought]]"},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {"role": "user", "content": "[[reply accepted]]"},
        ],
    )
    assert again.content[-1].text == "accepted"  # type: ignore[union-attr]
