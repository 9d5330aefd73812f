"""OpenAI client -> Anthropic upstream: rules not covered by the golden cases."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from tests.llm.wire.anthropic_events import (
    assert_anthropic_accepts,
    parse_sse,
    replay_openai_stream,
)

from lockgate.llm.wire.openai_anthropic import (
    anthropic_to_openai_response,
    openai_to_anthropic_request,
)
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream

TOOL = {
    "type": "function",
    "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
}


def _request(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return body


# ---------------------------------------------------------------------- request


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        ("none", False, {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (
            {"type": "function", "function": {"name": "f"}},
            False,
            {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, True, None),
        (None, None, None),
    ],
)
def test_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    out = openai_to_anthropic_request(
        _request(tools=[TOOL], tool_choice=choice, parallel_tool_calls=parallel), "claude"
    )
    assert out.get("tool_choice") == expected


def test_tool_choice_without_tools_is_dropped() -> None:
    out = openai_to_anthropic_request(_request(tool_choice="required"), "claude")
    assert "tool_choice" not in out and "tools" not in out


@pytest.mark.parametrize(
    ("fields", "max_tokens", "budget"),
    [
        ({"reasoning_effort": "low"}, 4096 + 4096, 4096),
        ({"reasoning_effort": "medium"}, 4096 + 16384, 16384),
        ({"reasoning_effort": "high"}, 4096 + 32768, 32768),
        ({"reasoning_effort": "minimal"}, 4096 + 1024, 1024),
        ({"reasoning_effort": "none"}, 4096, None),
        ({"reasoning_effort": "high", "max_tokens": 100000}, 100000, 32768),
        ({"reasoning_effort": "high", "max_completion_tokens": 20000}, 20000, 10000),
        ({"reasoning_effort": "low", "max_completion_tokens": 2000}, 2000, None),
        ({"reasoning_effort": "low", "max_completion_tokens": 3000, "max_tokens": 9}, 3000, 1500),
        ({"max_tokens": 0}, 4096, None),
    ],
)
def test_reasoning_effort_budget(
    fields: dict[str, Any], max_tokens: int, budget: int | None
) -> None:
    out = openai_to_anthropic_request(_request(**fields), "claude")
    assert out["max_tokens"] == max_tokens
    assert (out["thinking"]["budget_tokens"] if "thinking" in out else None) == budget
    assert_anthropic_accepts(out)


def test_forced_tool_choice_disables_thinking() -> None:
    out = openai_to_anthropic_request(
        _request(tools=[TOOL], tool_choice="required", reasoning_effort="high", temperature=0.3),
        "claude",
    )
    assert "thinking" not in out and out["temperature"] == 0.3
    assert_anthropic_accepts(out)


def test_sampling_with_thinking() -> None:
    out = openai_to_anthropic_request(
        _request(reasoning_effort="low", temperature=0.1, top_p=0.97, top_k=5), "claude"
    )
    assert "temperature" not in out and "top_k" not in out and out["top_p"] == 0.97
    out = openai_to_anthropic_request(_request(temperature=-1, top_k=5), "claude")
    assert out["temperature"] == 0 and out["top_k"] == 5


def test_default_max_tokens_parameter() -> None:
    assert (
        openai_to_anthropic_request(_request(), "claude", default_max_tokens=123)["max_tokens"]
        == 123
    )


def test_long_user_is_hashed_for_metadata() -> None:
    user = "u" * 300
    out = openai_to_anthropic_request(_request(user=user), "claude")
    assert out["metadata"] == {"user_id": hashlib.sha256(user.encode()).hexdigest()}
    out = openai_to_anthropic_request(_request(safety_identifier="sid"), "claude")
    assert out["metadata"] == {"user_id": "sid"}


def test_tool_pairing_repairs() -> None:
    body = _request(
        messages=[
            {"role": "tool", "tool_call_id": "stray", "content": "orphan"},
            {"role": "user", "content": "start"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "f", "arguments": "{"}},
                ],
            },
            {"role": "user", "content": "text before the result"},
            {"role": "tool", "tool_call_id": "a", "content": ""},
            {
                "role": "assistant",
                "content": "next",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[]"}}
                ],
            },
        ]
    )
    out = openai_to_anthropic_request(body, "claude")
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Result of tool call stray:\norphan"},
                {"type": "text", "text": "start"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "a", "name": "f", "input": {}},
                {"type": "tool_use", "id": "b", "name": "f", "input": {"_raw": "{"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "a"},
                {
                    "type": "tool_result",
                    "tool_use_id": "b",
                    "content": "Error: the client sent no result for this tool call.",
                    "is_error": True,
                },
                {"type": "text", "text": "text before the result"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "next"},
                {"type": "tool_use", "id": "c", "name": "f", "input": {"_raw": "[]"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "c",
                    "content": "Error: the client sent no result for this tool call.",
                    "is_error": True,
                },
            ],
        },
    ]
    assert_anthropic_accepts(out)


def test_content_parts() -> None:
    body = _request(
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {
                            "file_data": "data:application/pdf;base64,JVBE",
                            "filename": "a.pdf",
                        },
                    },
                    {"type": "file", "file": {"file_id": "file-1"}},
                    {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}},
                    {"type": "image_url", "image_url": "data:image/gif;base64,R0lG"},
                    {"type": "image_url", "image_url": {"url": "data:image/svg+xml,<svg/>"}},
                    {"type": "text", "text": "look"},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "No."}],
                "refusal": "Still no.",
            },
        ]
    )
    out = openai_to_anthropic_request(body, "claude")
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                },
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"},
                },
                {"type": "text", "text": "look"},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "No."}, {"type": "text", "text": "Still no."}],
        },
    ]


def test_tools_conversion() -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "a", "parameters": {"properties": {"x": {"type": "string"}}}},
        },
        {"type": "function", "function": {"name": "b"}},
        {"type": "custom", "custom": {"name": "grammar"}},
        {"type": "function", "function": {"description": "nameless"}},
        "junk",
    ]
    out = openai_to_anthropic_request(_request(tools=tools), "claude")
    assert out["tools"] == [
        {"name": "a", "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}},
        {"name": "b", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_system_only_in_the_middle_and_unknown_roles() -> None:
    body = _request(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "system", "content": "late rule"},
            {"role": "function", "name": "old", "content": "legacy"},
            {"role": "user", "content": "b"},
        ]
    )
    out = openai_to_anthropic_request(body, "claude")
    assert out["system"] == [{"type": "text", "text": "late rule"}]
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


# --------------------------------------------------------------------- response


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
        (None, "stop"),
        ("something_new", "stop"),
    ],
)
def test_finish_reasons(stop_reason: str | None, finish_reason: str) -> None:
    resp = {
        "id": "m",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop_reason,
        "usage": {},
    }
    out, _ = anthropic_to_openai_response(resp, "claude", created=1)
    assert out["choices"][0]["finish_reason"] == finish_reason


def test_empty_response() -> None:
    out, usage = anthropic_to_openai_response({}, "claude")
    assert out["choices"][0]["message"] == {"role": "assistant", "content": ""}
    assert out["model"] == "claude" and isinstance(out["created"], int) and out["created"] > 0
    assert usage.total_tokens == 0


# ----------------------------------------------------------------------- stream


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude-x",
        "usage": {"input_tokens": 7, "output_tokens": 1},
    },
}


def _run(
    events: list[dict[str, Any]], include_usage: bool = False
) -> tuple[AnthropicToOpenAIStream, list[Any], bytes]:
    translator = AnthropicToOpenAIStream("claude", include_usage, created=1)
    raw = b"".join(translator.feed(e) for e in events) + translator.finish()
    return translator, parse_sse(raw), raw


def _end(stop_reason: str = "end_turn", output_tokens: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def test_usage_chunk_only_when_asked() -> None:
    _, events, _ = _run([START, *_end()])
    assert all(data == "[DONE]" or data["choices"] for _, data in events)
    translator, events, _ = _run([START, *_end()], include_usage=True)
    assert events[-2][1]["usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert (translator.usage.prompt_tokens, translator.usage.completion_tokens) == (7, 3)
    assert translator.completed and translator.response_model == "claude-x"


def test_message_delta_may_correct_input_usage() -> None:
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"input_tokens": 9, "cache_read_input_tokens": 4, "output_tokens": 2},
    }
    translator, _, _ = _run([START, delta, {"type": "message_stop"}])
    assert (translator.usage.prompt_tokens, translator.usage.cached_tokens) == (13, 4)


def test_tool_use_start_with_input_and_unknown_events() -> None:
    events = [
        START,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "citations_delta", "citation": {}},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "server_tool_use",
                "id": "s",
                "name": "web_search",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"q":1}'},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "future_event"},
        *_end("tool_use"),
    ]
    _, parsed, raw = _run(events)
    completion = replay_openai_stream(raw)
    call = completion.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == ("t", "f", '{"a":1}')
    assert len(completion.choices[0].message.tool_calls) == 1
    assert parsed[-1][1] == "[DONE]"


def test_premature_end_after_message_delta() -> None:
    translator, events, _ = _run([START, _end()[0]])
    assert events[-1][1]["error"]["type"] == "server_error"
    assert not translator.completed


def test_fail_keeps_a_client_error_type() -> None:
    translator = AnthropicToOpenAIStream("claude", created=1)
    translator.feed(START)
    out = parse_sse(translator.fail("rate_limit_error", "slow down"))
    assert out == [
        (
            None,
            {
                "error": {
                    "message": "slow down",
                    "type": "rate_limit_error",
                    "param": None,
                    "code": None,
                }
            },
        )
    ]
    assert translator.feed(START) == b"" and translator.finish() == b""


def test_message_stop_ends_the_stream_with_done_in_its_own_piece() -> None:
    # [DONE] comes with message_stop's piece, so that the stream's end goes out
    # in the same write as its last chunks rather than after the upstream's EOF.
    for include_usage in (False, True):
        translator = AnthropicToOpenAIStream("claude", include_usage, created=1)
        for event in [START, _end()[0]]:
            translator.feed(event)
        last = translator.feed({"type": "message_stop"})
        assert last.endswith(b"data: [DONE]\n\n") and last.count(b"data: ") == 1 + include_usage
        assert translator.finish() == b"" and translator.fail("api_error", "cut") == b""
        assert translator.completed
