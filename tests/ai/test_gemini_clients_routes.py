"""Gemini-format clients (``google-genai``) to Bedrock, and behind
ai-proxy-advanced (``llm_format: gemini`` with failover), through the real
gateway."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from google.genai import errors, types

from lockgate.testing.emulator.bedrock import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tests.ai.conftest import Stack
from tests.ai.test_gemini_clients import WEATHER, client, post_json

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CRITERIA = ["error", "timeout", "http_429", "http_500"]
TEAM_KEY = "gem-dev-own-key"


def _target(provider: str, url: str, model: str, key: str, weight: int) -> dict[str, Any]:
    header = "x-api-key" if provider == "anthropic" else "Authorization"
    options: dict[str, Any] = {"upstream_url": url}
    if provider == "anthropic":
        options["anthropic_version"] = "2023-06-01"
    return {
        "route_type": "llm/v1/chat",
        "weight": weight,
        "auth": {"header_name": header, "header_value": key},
        "model": {"provider": provider, "name": model, "options": options},
    }


def _route(name: str, balancer: dict[str, Any], targets: list[Any]) -> dict[str, Any]:
    config = {"llm_format": "gemini", "balancer": balancer, "targets": targets}
    return {
        "name": name,
        "paths": [f"/{name}"],
        "plugins": [{"name": "ai-proxy-advanced", "config": config}],
    }


@pytest.fixture(scope="module")
def routes(stack: Stack) -> Stack:
    emu = stack.emulator
    bedrock = {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/chat",
            "llm_format": "gemini",
            "auth": {
                "aws_access_key_id": DEFAULT_ACCESS_KEY_ID,
                "aws_secret_access_key": DEFAULT_SECRET_ACCESS_KEY,
            },
            "model": {
                "provider": "bedrock",
                "name": CLAUDE,
                "options": {
                    "upstream_url": emu + "/bedrock",
                    "bedrock": {"aws_region": "us-west-2"},
                },
            },
        },
    }
    priority = {"algorithm": "priority", "failover_criteria": CRITERIA}
    openai_first = _target(
        "openai", f"{emu}/openai/v1/chat/completions", "gpt-4.1", "Bearer sk-openai-secret", 100
    )
    anthropic_next = _target(
        "anthropic", f"{emu}/anthropic/v1/messages", "claude-sonnet-4-6", "sk-ant-secret", 10
    )
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "gemini-routes",
                "url": emu,
                "routes": [
                    {"name": "gem-bedrock", "paths": ["/gem-bedrock"], "plugins": [bedrock]},
                    _route("gem-fo", priority, [openai_first, anthropic_next]),
                    {
                        "name": "gem-team",
                        "paths": ["/gem-team"],
                        "plugins": [
                            # Gemini CLI sends GEMINI_API_KEY as x-goog-api-key: a key per developer.
                            {"name": "key-auth", "config": {"key_names": ["x-goog-api-key"]}},
                            {
                                "name": "ai-proxy",
                                "config": {
                                    "route_type": "llm/v1/chat",
                                    "llm_format": "gemini",
                                    "auth": anthropic_next["auth"],
                                    "model": anthropic_next["model"],
                                },
                            },
                            {
                                "name": "ai-rate-limiting-advanced",
                                "config": {
                                    "llm_format": "gemini",
                                    "window_type": "fixed",
                                    "llm_providers": [
                                        {"name": "anthropic", "limit": [300], "window_size": [3600]}
                                    ],
                                },
                            },
                        ],
                    },
                ],
            }
        ],
        "consumers": [{"username": "gem-dev", "keyauth_credentials": [{"key": TEAM_KEY}]}],
    }
    stack.apply(yaml.safe_dump(config, sort_keys=False))
    return stack


def _bedrock_calls(stack: Stack) -> list[dict[str, Any]]:
    return stack.upstream("/bedrock/model/")


def test_bedrock_generate_stream_and_tools(routes: Stack, tag: str) -> None:
    routes.clear_upstream()
    gemini = client(routes, "bedrock", tag)
    answer = gemini.models.generate_content(
        model=CLAUDE,
        contents="[[reply hello from bedrock]]",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=300),
    )
    assert answer.text == "hello from bedrock"
    assert answer.usage_metadata.prompt_token_count > 0
    chunks = list(
        gemini.models.generate_content_stream(
            model=CLAUDE, contents="[[reply streamed through bedrock]] [[chunks 3]]"
        )
    )
    assert "".join(c.text or "" for c in chunks) == "streamed through bedrock"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    called = gemini.models.generate_content(
        model=CLAUDE,
        contents='[[tool get_weather {"city": "Bergen"}]]',
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[WEATHER])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    assert [(c.name, c.args) for c in called.function_calls or ()] == [
        ("get_weather", {"city": "Bergen"})
    ]
    records = _bedrock_calls(routes)
    assert [unquote(r["path"]).rsplit("/", 1)[-1] for r in records] == [
        "converse",
        "converse-stream",
        "converse",
    ]
    first = records[0]["body"]
    assert first["system"] == [{"text": "Be brief."}]
    assert first["inferenceConfig"]["maxTokens"] == 300
    assert routes.log_records(tag, 3)[0]["ai"]["proxy"]["meta"]["provider_name"] == "bedrock"


def test_failover_behind_ai_proxy_advanced(routes: Stack, tag: str) -> None:
    routes.clear_upstream()
    gemini = client(routes, "fo", tag)
    answer = gemini.models.generate_content(
        model="gpt-4.1", contents="[[reply from the second]] [[fail 429 on openai]]"
    )
    assert answer.text == "from the second"
    assert [r["path"] for r in routes.upstream()] == [
        "/openai/v1/chat/completions",
        "/anthropic/v1/messages",
    ]
    with pytest.raises(errors.ClientError) as caught:
        gemini.models.generate_content(model="gpt-4.1", contents="[[fail 429]]")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    models = [m.name for m in gemini.models.list()]
    assert models == ["models/gpt-4.1", "models/claude-sonnet-4-6"]


def test_a_developer_key_and_a_token_budget(routes: Stack, tag: str) -> None:
    """key-auth reads the key Gemini CLI sends; the limiter refuses in Google's shape."""
    routes.clear_upstream()
    url = f"{routes.gw.proxy_url}/gem-team/v1beta/models/claude-sonnet-4-6:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "[[reply hi]]"}]}]}
    status, raw, _ = post_json(url, body, {"x-goog-api-key": "not-a-key"})
    assert status == 401
    status, raw, _ = post_json(url, body, {"x-goog-api-key": TEAM_KEY})
    assert status == 200, raw
    (record,) = routes.upstream("/anthropic/v1/messages")
    assert TEAM_KEY not in json.dumps(record)
    long = {"contents": [{"role": "user", "parts": [{"text": "lorem ipsum dolor " * 400}]}]}
    status, raw, _ = post_json(url, long, {"x-goog-api-key": TEAM_KEY})
    assert status == 429
    error = json.loads(raw)["error"]
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED" and error["message"]
    assert len(routes.upstream("/anthropic/v1/messages")) == 1  # refused before the provider
