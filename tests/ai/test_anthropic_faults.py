"""Upstream faults seen by Anthropic-format clients through the real gateway:
error statuses keep the provider's message and get the right error type,
timeouts and broken streams end in an error (never a silent normal end), and
the gateway keeps serving."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.ai.conftest import PROVIDERS, SEEDS, Stack
from tests.ai.expect import native_request, raw_events, single_upstream
from tests.ai.fixtures import WEATHER_TOOL

RATE_LIMIT_WORDS = {
    "hf": "Rate limit reached",
    "anthropic": "would exceed the rate limit",
    "dashscope": "Requests rate limit exceeded",
    "gemini": "Resource exhausted",
    "openai": "Rate limit reached for",
}


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
@pytest.mark.parametrize("key", SEEDS)
def test_rate_limit_keeps_upstream_message(fresh: Stack, tag: str, key: str, stream: bool) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    kwargs: dict[str, Any] = {
        "model": provider.model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "[[fail 429]]"}],
    }
    with pytest.raises(anthropic.RateLimitError) as caught:
        if stream:
            with client.messages.stream(**kwargs) as s:
                s.get_final_message()
        else:
            client.messages.create(**kwargs)
    err = caught.value
    assert err.status_code == 429
    assert isinstance(err.body, dict)
    assert err.body["error"]["type"] == "rate_limit_error"
    assert RATE_LIMIT_WORDS[key] in err.body["error"]["message"]
    native_request(single_upstream(fresh, provider), provider, stream=stream)
    record = fresh.log_record(tag)
    assert record["response"]["status"] == 429
    assert record["ai"]["proxy"]["meta"]["provider_name"] == provider.name


SERVER_ERROR_WORDS = {
    "hf": "The server had an error",
    "anthropic": "Internal server error",
    "dashscope": "An internal error has occured",
    "gemini": "Internal error encountered",
    "openai": "The server had an error",
}


@pytest.mark.parametrize("key", SEEDS)
def test_server_error_is_api_error(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(
            model=provider.model,
            max_tokens=64,
            messages=[{"role": "user", "content": "[[fail 500]]"}],
        )
    assert caught.value.status_code == 500
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "api_error"
    assert SERVER_ERROR_WORDS[key] in caught.value.body["error"]["message"]


@pytest.mark.parametrize("key", SEEDS)
def test_overloaded(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    status = 529 if key == "anthropic" else 503
    client = fresh.anthropic(key, tag)
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(
            model=provider.model,
            max_tokens=64,
            messages=[{"role": "user", "content": f"[[fail {status}]]"}],
        )
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize("key", SEEDS)
def test_timeout_is_504(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(f"t-{key}", tag)
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(
            model=provider.model,
            max_tokens=64,
            messages=[{"role": "user", "content": "[[sleep 2.5]] [[reply too late]]"}],
        )
    assert caught.value.status_code == 504
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "api_error"
    # The read timeout, named as such: the connection itself was fine.
    said = "did not answer within 1 s (read_timeout)"
    assert said in caught.value.body["error"]["message"]
    request_id = caught.value.response.headers["x-kong-request-id"]
    assert [
        line for line in fresh.gw.error_log().splitlines() if request_id in line and said in line
    ]
    record = fresh.log_record(tag)
    assert record["response"]["status"] == 504
    # The gateway keeps serving on the same route.
    ok = client.messages.create(
        model=provider.model, max_tokens=64, messages=[{"role": "user", "content": "[[reply ok]]"}]
    )
    assert ok.content[0].text == "ok"


@pytest.mark.parametrize("key", SEEDS)
def test_stream_cut_midway_is_an_error(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    events = raw_events(
        client,
        model=provider.model,
        max_tokens=512,
        messages=[{"role": "user", "content": "[[reply a b c d e f g h]] [[chunks 8]] [[cut 4]]"}],
    )
    assert events[-1][0] == "error", [name for name, _ in events]
    assert events[-1][1]["error"]["type"] == "api_error"
    assert any(name == "content_block_delta" for name, _ in events)  # it was cut midway
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(
            model=provider.model,
            max_tokens=512,
            messages=[
                {
                    "role": "user",
                    "content": "[[reply a b c d e f g h i j k l]] [[chunks 10]] [[cut 4]]",
                }
            ],
        ) as stream:
            for text in stream.text_stream:
                received.append(text)
    assert "".join(received) != "a b c d e f g h i j k l"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "api_error"
    record = fresh.log_record(tag)
    usage = record["ai"]["proxy"]["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    # The gateway keeps serving.
    after = client.messages.create(
        model=provider.model,
        max_tokens=64,
        messages=[{"role": "user", "content": "[[reply still here]]"}],
    )
    assert after.content[0].text == "still here"


@pytest.mark.parametrize("key", SEEDS)
def test_cut_before_any_byte_is_502(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(
            model=provider.model, max_tokens=64, messages=[{"role": "user", "content": "[[cut 0]]"}]
        )
    assert caught.value.status_code == 502
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "api_error"


@pytest.mark.parametrize("key", SEEDS)
def test_midstream_provider_error(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    events = raw_events(
        client,
        model=provider.model,
        max_tokens=256,
        messages=[
            {"role": "user", "content": "[[reply a b c d e f]] [[chunks 6]] [[fail 429 after 3]]"}
        ],
    )
    name, data = events[-1]
    assert name == "error", [n for n, _ in events]
    assert data["error"]["type"] == "rate_limit_error", data


@pytest.mark.parametrize("key", SEEDS)
def test_stream_stall_times_out(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(f"t-{key}", tag)
    events = raw_events(
        client,
        model=provider.model,
        max_tokens=256,
        messages=[{"role": "user", "content": "[[reply a b c d]] [[chunks 4]] [[slow 1600]]"}],
    )
    name, data = events[-1]
    assert name == "error", [n for n, _ in events]
    assert data["error"]["type"] == "api_error"
    record = fresh.log_record(tag)
    assert record["ai"]["proxy"]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("key", ["anthropic", "openai", "gemini"])
def test_client_leaving_midstream_is_logged_and_harmless(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    with client.messages.stream(
        model=provider.model,
        max_tokens=256,
        messages=[
            {"role": "user", "content": "[[reply a b c d e f g h]] [[chunks 8]] [[slow 150]]"}
        ],
    ) as stream:
        for _ in stream.text_stream:
            break  # the user pressed Esc
    record = fresh.log_record(tag)
    assert record["ai"]["proxy"]["meta"]["request_mode"] == "stream"
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] > 0
    after = client.messages.create(
        model=provider.model,
        max_tokens=64,
        messages=[{"role": "user", "content": "[[reply again]]"}],
    )
    assert after.content[0].text == "again"


@pytest.mark.parametrize("key", SEEDS)
def test_stream_cut_inside_tool_arguments(fresh: Stack, tag: str, key: str) -> None:
    """A tool call whose arguments were cut must never reach the client as complete.
    (Gemini sends a function call whole, in one frame: its stream is cut before it.)"""
    provider = PROVIDERS[key]
    cut = 0 if provider.name == "gemini" else 5
    events = raw_events(
        fresh.anthropic(key, tag),
        model=provider.model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        messages=[
            {
                "role": "user",
                "content": '[[tool get_weather {"city": "Reykjavik, a long city name to split"}]] '
                f"[[cut {cut}]]",
            }
        ],
    )
    names = [n for n, _ in events]
    assert names[-1] == "error", names
    assert "message_delta" not in names


def test_gateway_answers_its_own_errors_in_anthropic_shape(fresh: Stack, tag: str) -> None:
    provider = PROVIDERS["openai"]
    client = fresh.anthropic("openai", tag)
    with pytest.raises(anthropic.BadRequestError) as other_model:
        client.messages.create(
            model="gpt-4o", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert isinstance(other_model.value.body, dict)
    assert other_model.value.body["error"] == {
        "type": "invalid_request_error",
        "message": f"cannot use own model - must be: {provider.model}",
    }
    with pytest.raises(anthropic.APIStatusError) as too_large:
        client.messages.create(
            model=provider.model,
            max_tokens=64,
            messages=[{"role": "user", "content": "x" * (1024 * 1024 + 1)}],
        )
    assert too_large.value.status_code == 413
    assert isinstance(too_large.value.body, dict)
    assert too_large.value.body["error"]["type"] == "request_too_large"
    assert fresh.upstream() == []
