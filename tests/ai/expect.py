"""Assertions on what the emulator received and on the log record."""

from __future__ import annotations

import json
from typing import Any

import anthropic

from tests.ai.conftest import (
    CLIENT_KEY,
    GEMINI_PUBLIC_KEY,
    INPUT_COST,
    OUTPUT_COST,
    Provider,
    Stack,
)
from tests.llm.wire.anthropic_events import Event, parse_sse, validate_anthropic_events

OPENAI_COMPATIBLE = ("huggingface", "dashscope", "openai")


def _walk_keys(value: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(key)
            keys |= _walk_keys(item)
    elif isinstance(value, list):
        for item in value:
            keys |= _walk_keys(item)
    return keys


def native_request(
    record: dict[str, Any], provider: Provider, *, stream: bool, usage_asked: bool = True
) -> dict[str, Any]:
    """Checks one upstream request is in ``provider``'s own format with the
    configured credential and model; returns its body.

    ``usage_asked``: whether a streamed OpenAI-compatible request must ask for
    the usage chunk (always when translated; a passthrough keeps the client's body).
    """
    headers, body = record["headers"], record["body"]
    assert isinstance(body, dict), record
    for value in headers.values():
        assert CLIENT_KEY not in value, headers  # the client's dummy key never goes upstream
    name, value = provider.credential
    if name:
        assert headers.get(name, "").startswith(value), headers
        if value != "Bearer ":
            assert headers[name] == value
        else:
            assert len(headers[name]) > len("Bearer ") + 10
    assert record["path"].startswith(provider.path), record["path"]
    if provider.name in OPENAI_COMPATIBLE:
        assert body["model"] == provider.model
        assert "messages" in body
        assert not {"system", "thinking", "cache_control", "anthropic_version"} & _walk_keys(body)
        assert not {"metadata", "context_management", "output_config"} & set(body)
        assert bool(body.get("stream")) is stream
        if stream and usage_asked:
            assert body["stream_options"] == {"include_usage": True}
        assert "authorization" in headers and "x-api-key" not in headers
    elif provider.name == "anthropic":
        assert body["model"] == provider.model
        assert "messages" in body
        assert headers["anthropic-version"] == "2023-06-01"
        assert bool(body.get("stream")) is stream
        assert "authorization" not in headers
    else:
        assert "contents" in body and "messages" not in body and "model" not in body
        assert provider.model in record["path"]
        method = "streamGenerateContent" if stream else "generateContent"
        assert record["path"].endswith(":" + method), record["path"]
        if stream:
            assert "alt=sse" in record["query"]
        if not provider.vertex:
            assert f"key={GEMINI_PUBLIC_KEY}" in record["query"]
            assert "authorization" not in headers
        else:
            assert "key=" not in record["query"]
        assert "x-api-key" not in headers
    return body


def log_usage(
    record: dict[str, Any], provider: Provider, *, mode: str, cost: bool = False
) -> dict[str, Any]:
    """Checks the ``ai.proxy`` part of a log record; returns it."""
    proxy = record["ai"]["proxy"]
    usage, meta = proxy["usage"], proxy["meta"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0, usage
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert meta["provider_name"] == provider.name
    assert meta["request_model"] == provider.model
    assert meta["response_model"]
    assert meta["request_mode"] == mode
    if cost:
        expected = (
            usage["prompt_tokens"] * INPUT_COST + usage["completion_tokens"] * OUTPUT_COST
        ) / 1e6
        assert abs(usage["cost"] - expected) < 1e-12 and usage["cost"] > 0, usage
        assert usage["cost_source"] == "configured"
    assert usage["cost_source"] in ("configured", "list_price", "unpriced"), usage
    raw = json.dumps(record)
    for secret in ("sk-ant-secret", "sk-openai-secret", "hf-secret-token", "sk-dashscope-secret"):
        assert secret not in raw
    assert GEMINI_PUBLIC_KEY not in raw
    return proxy


def single_upstream(stack: Stack, provider: Provider) -> dict[str, Any]:
    """The one request the emulator received for ``provider`` since it was cleared."""
    records = stack.upstream(provider.path)
    assert len(records) == 1, [r["path"] for r in stack.upstream()]
    return records[0]


def raw_events(client: anthropic.Anthropic, **kwargs: Any) -> list[Event]:
    """A streamed answer's events as sent, checked strictly (beyond what the SDK checks)."""
    with client.messages.with_streaming_response.create(stream=True, **kwargs) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.read())
    validate_anthropic_events(events)
    return events
