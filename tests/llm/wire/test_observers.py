"""Format facts: usage extraction, passthrough stream observers, error bodies, local token estimates."""

from __future__ import annotations

from typing import Any

import orjson
from tests.llm.wire.anthropic_events import parse_sse
from tests.llm.wire.claude_code_like import claude_code_request

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import (
    IMAGE_TOKENS as ANTHROPIC_IMAGE_TOKENS,
)
from lockgate.llm.wire.anthropic import (
    AnthropicStreamObserver,
    anthropic_error_body,
    estimate_anthropic_input_tokens,
    usage_from_anthropic,
)
from lockgate.llm.wire.anthropic_openai import anthropic_to_openai_request
from lockgate.llm.wire.openai import (
    IMAGE_TOKENS as OPENAI_IMAGE_TOKENS,
)
from lockgate.llm.wire.openai import (
    OpenAIStreamObserver,
    estimate_openai_input_tokens,
    openai_error_body,
    usage_from_openai,
)


def test_usage_from_anthropic() -> None:
    usage = usage_from_anthropic(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 200,
            "cache_creation_input_tokens": 30,
            "output_tokens": 7,
            "service_tier": "standard",
        }
    )
    assert usage == Usage(
        prompt_tokens=240, completion_tokens=7, cached_tokens=200, cache_creation_tokens=30
    )
    assert usage_from_anthropic({"input_tokens": None, "output_tokens": True}) == Usage()


def test_usage_from_openai() -> None:
    usage = usage_from_openai(
        {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
         "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 20}}
    )  # fmt: skip
    assert usage == Usage(
        prompt_tokens=100, completion_tokens=50, cached_tokens=64, reasoning_tokens=20
    )
    nulls = {
        "prompt_tokens": 5,
        "completion_tokens": 1,
        "prompt_tokens_details": None,
        "completion_tokens_details": None,
    }
    assert usage_from_openai(nulls) == Usage(prompt_tokens=5, completion_tokens=1)
    deepseek = {
        "prompt_tokens": 40,
        "completion_tokens": 2,
        "prompt_cache_hit_tokens": 32,
        "prompt_cache_miss_tokens": 8,
    }
    assert usage_from_openai(deepseek).cached_tokens == 32


def test_error_bodies() -> None:
    assert anthropic_error_body("rate_limit_error", "slow") == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow"},
    }
    assert openai_error_body("bad", "invalid_request_error", "invalid_value", "model") == {
        "error": {
            "message": "bad",
            "type": "invalid_request_error",
            "param": "model",
            "code": "invalid_value",
        }
    }
    assert openai_error_body("x", "server_error") == {
        "error": {"message": "x", "type": "server_error", "param": None, "code": None}
    }


ANTHROPIC_STREAM = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, world and more"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}

event: message_stop
data: {"type":"message_stop"}

"""


def _events(raw: bytes) -> list[dict[str, Any]]:
    return [data for _, data in parse_sse(raw) if data != "[DONE]"]


def test_anthropic_observer_full_stream() -> None:
    observer = AnthropicStreamObserver()
    for event in _events(ANTHROPIC_STREAM):
        observer.feed(event)
    observer.finish()
    assert observer.completed and observer.response_model == "claude-sonnet-4-5-20250929"
    assert observer.usage == Usage(
        prompt_tokens=2112, completion_tokens=9, cached_tokens=2000, cache_creation_tokens=100
    )


def test_anthropic_observer_later_input_counts_win() -> None:
    observer = AnthropicStreamObserver()
    observer.feed(
        {
            "type": "message_start",
            "message": {"model": "m", "usage": {"input_tokens": 5, "output_tokens": 1}},
        }
    )
    observer.feed(
        {
            "type": "message_delta",
            "delta": {},
            "usage": {"input_tokens": 8, "cache_read_input_tokens": None, "output_tokens": 3},
        }
    )
    assert (observer.usage.prompt_tokens, observer.usage.completion_tokens) == (8, 3)


def test_anthropic_observer_broken_stream_is_estimated() -> None:
    observer = AnthropicStreamObserver(input_tokens_estimate=50)
    events = _events(ANTHROPIC_STREAM)[:4]  # up to the text delta
    for event in events:
        observer.feed(event)
    observer.finish()
    assert not observer.completed
    # input reported by message_start is kept; output estimated from 21 streamed characters
    assert (
        observer.usage.prompt_tokens,
        observer.usage.completion_tokens,
        observer.usage.estimated,
    ) == (2112, 6, True)

    silent = AnthropicStreamObserver(input_tokens_estimate=50)
    silent.finish()
    assert (silent.usage.prompt_tokens, silent.usage.completion_tokens, silent.usage.estimated) == (
        50,
        0,
        True,
    )


OPENAI_STREAM = b"""data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hello there, friend"},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{\\"a\\":1}"}}]},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":0}}}

data: [DONE]

"""


def test_openai_observer_full_stream() -> None:
    observer = OpenAIStreamObserver()
    for event in _events(OPENAI_STREAM):
        observer.feed(event)
    observer.finish()
    assert observer.completed and observer.response_model == "gpt-4o-2024-08-06"
    assert observer.usage == Usage(prompt_tokens=30, completion_tokens=12)


def test_openai_observer_without_usage_is_estimated() -> None:
    observer = OpenAIStreamObserver(input_tokens_estimate=99)
    for event in _events(OPENAI_STREAM)[:-1]:
        observer.feed(event)
    assert observer.completed and not observer.usage.reported
    observer.finish()
    # 19 characters of text + 7 of arguments -> 26 / 4, rounded up
    assert observer.usage == Usage(prompt_tokens=99, completion_tokens=7, estimated=True)


def test_openai_observer_error_chunk_is_not_completion() -> None:
    observer = OpenAIStreamObserver()
    observer.feed({"error": {"message": "boom"}})
    observer.feed({"choices": None, "usage": None})
    assert not observer.completed and observer.response_model is None


# ------------------------------------------------------------------- estimates


def test_estimate_anthropic_counts_every_part() -> None:
    base = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x" * 400}]}
    plain = estimate_anthropic_input_tokens(base)
    assert plain == 100 + 4
    assert estimate_anthropic_input_tokens({}) == 0

    def more(**fields: Any) -> int:
        return estimate_anthropic_input_tokens({**base, **fields}) - plain

    assert more(system="y" * 400) == 100
    assert (
        more(system=[{"type": "text", "text": "y" * 400, "cache_control": {"type": "ephemeral"}}])
        == 100
    )
    tool = {"name": "Read", "description": "d" * 396, "input_schema": {"type": "object"}}
    # 400 (message) + 4 (name) + 396 (description) + 17 (schema) = 817 characters -> 205 tokens,
    # + 4 (message framing) + 8 (tool framing), less the 104 of the plain request
    assert len(orjson.dumps(tool["input_schema"])) == 17
    assert more(tools=[tool]) == 113
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "A" * 100000},
    }
    turn = {
        "role": "user",
        "content": [image, {"type": "tool_result", "tool_use_id": "t", "content": [image]}],
    }
    assert estimate_anthropic_input_tokens({"messages": [turn]}) == 2 * ANTHROPIC_IMAGE_TOKENS + 4
    call = {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "z" * 100}}
    thinking = {"type": "thinking", "thinking": "w" * 100, "signature": "s" * 500}
    assert (
        estimate_anthropic_input_tokens(
            {"messages": [{"role": "assistant", "content": [thinking, call]}]}
        )
        > 50
    )


def test_estimate_openai_counts_every_part() -> None:
    body = {"messages": [{"role": "user", "content": "x" * 400}]}
    assert estimate_openai_input_tokens(body) == 100 + 4
    assert estimate_openai_input_tokens({}) == 0
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 10000}}
    assert (
        estimate_openai_input_tokens({"messages": [{"role": "user", "content": [image]}]})
        == OPENAI_IMAGE_TOKENS + 4
    )
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "a" * 399}}
    assert (
        estimate_openai_input_tokens(
            {"messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
        )
        == 100 + 4
    )


def test_estimates_agree_on_a_claude_code_request() -> None:
    body = claude_code_request(seed=1)
    anthropic_estimate = estimate_anthropic_input_tokens(body)
    size = len(orjson.dumps(body))
    # prose of short English words: about 4 bytes a token, plus two images
    assert size / 5 < anthropic_estimate < size / 3
    openai_estimate = estimate_openai_input_tokens(anthropic_to_openai_request(body, "gpt"))
    assert abs(openai_estimate - anthropic_estimate) / anthropic_estimate < 0.2
