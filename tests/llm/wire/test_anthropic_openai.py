"""Anthropic client -> OpenAI-compatible upstream: rules not covered by the golden cases."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from tests.llm.wire.anthropic_events import (
    parse_sse,
    replay_anthropic_stream,
    validate_anthropic_events,
)
from tests.llm.wire.claude_code_like import claude_code_request

from lockgate.llm.wire.anthropic_openai import (
    OpenAIToAnthropicStream,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)
from lockgate.testing.emulator.openai_validate import ChatRules, validate_chat
from lockgate.testing.emulator.responses import ApiError

TOOL = {
    "name": "Read",
    "description": "Read a file.",
    "input_schema": {"type": "object", "properties": {}},
}


def _request(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(fields)
    return body


def _fail(message: str, param: str | None, code: str | None) -> ApiError:
    return ApiError(400, {"error": {"message": message, "param": param, "code": code}})


def assert_openai_accepts(body: dict[str, Any]) -> None:
    """The request passes the OpenAI emulator's validation (OpenAI's own rules)."""
    validate_chat(ChatRules(), _fail, orjson.loads(orjson.dumps(body)))


# ---------------------------------------------------------------------- request


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "Read"},
            {"tool_choice": {"type": "function", "function": {"name": "Read"}}},
        ),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
        ),
        ({"type": "any", "disable_parallel_tool_use": False}, {"tool_choice": "required"}),
        (None, {}),
    ],
)
def test_tool_choice(choice: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    out = anthropic_to_openai_request(_request(tools=[TOOL], tool_choice=choice), "gpt")
    assert {k: out[k] for k in ("tool_choice", "parallel_tool_calls") if k in out} == expected


def test_tool_choice_without_tools_is_dropped() -> None:
    # OpenAI rejects tool_choice and parallel_tool_calls when no tools are given.
    body = _request(tools=[], tool_choice={"type": "any", "disable_parallel_tool_use": True})
    out = anthropic_to_openai_request(body, "gpt")
    assert "tool_choice" not in out and "parallel_tool_calls" not in out and "tools" not in out
    assert_openai_accepts(out)


@pytest.mark.parametrize(
    ("thinking", "output_config", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
        ({"type": "enabled", "budget_tokens": 4096}, None, "low"),
        ({"type": "enabled", "budget_tokens": 4097}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 16384}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 16385}, None, "high"),
        ({"type": "enabled", "budget_tokens": 31999}, None, "high"),
        ({"type": "enabled"}, None, "medium"),
        ({"type": "adaptive"}, None, "medium"),
        ({"type": "adaptive"}, {"effort": "low"}, "low"),
        ({"type": "adaptive"}, {"effort": "max"}, "high"),
        ({"type": "adaptive"}, {"effort": "unheard-of"}, "medium"),
        ({"type": "disabled"}, {"effort": "high"}, None),
        (None, {"effort": "high"}, None),
    ],
)
def test_thinking_to_reasoning_effort(
    thinking: dict[str, Any] | None, output_config: dict[str, Any] | None, effort: str | None
) -> None:
    body = _request(thinking=thinking, output_config=output_config)
    out = anthropic_to_openai_request(body, "gpt")
    assert out.get("reasoning_effort") == effort
    assert "output_config" not in out and "thinking" not in out


def test_stream_options_only_when_streaming() -> None:
    assert "stream_options" not in anthropic_to_openai_request(_request(), "gpt")
    assert "stream" not in anthropic_to_openai_request(_request(), "gpt")
    out = anthropic_to_openai_request(_request(stream=True), "gpt")
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(("length", "hashed"), [(1, False), (64, False), (65, True)])
def test_user_id_length(length: int, hashed: bool) -> None:
    user_id = "u" * length
    out = anthropic_to_openai_request(_request(metadata={"user_id": user_id}), "gpt")
    assert out["user"] == (hashlib.sha256(user_id.encode()).hexdigest() if hashed else user_id)
    assert len(out["user"]) <= 64


def test_system_as_string_and_empty_system() -> None:
    out = anthropic_to_openai_request(_request(system="Be brief."), "gpt")
    assert out["messages"][0] == {"role": "system", "content": "Be brief."}
    out = anthropic_to_openai_request(_request(system=[]), "gpt")
    assert out["messages"][0]["role"] == "user"


def test_long_system_prompt_is_never_truncated() -> None:
    text = "x" * 300_000
    out = anthropic_to_openai_request(_request(system=[{"type": "text", "text": text}]), "gpt")
    assert out["messages"][0]["content"] == text


def test_assistant_without_content_is_left_out() -> None:
    body = _request(
        messages=[
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "t", "signature": "s"}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": ""}]},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "b"},
        ]
    )
    out = anthropic_to_openai_request(body, "gpt")
    assert [m["role"] for m in out["messages"]] == ["user", "user"]
    assert_openai_accepts(out)


def test_assistant_text_blocks_join() -> None:
    body = _request(
        messages=[
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
            },
        ]
    )
    assert anthropic_to_openai_request(body, "gpt")["messages"][1] == {
        "role": "assistant",
        "content": "one\n\ntwo",
    }


def _turns(*results: dict[str, Any]) -> list[dict[str, Any]]:
    call = {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": list(results)},
    ]


@pytest.mark.parametrize(
    ("result", "content"),
    [
        ({"type": "tool_result", "tool_use_id": "t1"}, ""),
        ({"type": "tool_result", "tool_use_id": "t1", "content": []}, ""),
        ({"type": "tool_result", "tool_use_id": "t1", "is_error": True}, "Error"),
        (
            {"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": "boom"},
            "Error: boom",
        ),
        (
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            "a\nb",
        ),
        (
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "doc"},
                    }
                ],
            },
            "doc",
        ),
    ],
)
def test_tool_result_content(result: dict[str, Any], content: str) -> None:
    out = anthropic_to_openai_request(_request(messages=_turns(result)), "gpt")
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "t1", "content": content}
    assert len(out["messages"]) == 3
    assert_openai_accepts(out)


def test_tool_result_with_only_an_image() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/s.png"}}
    out = anthropic_to_openai_request(
        _request(messages=_turns({"type": "tool_result", "tool_use_id": "t1", "content": [image]})),
        "gpt",
    )
    assert (
        out["messages"][2]["content"]
        == "The tool returned 1 image(s); they follow in the next user message."
    )
    assert out["messages"][3] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Images returned by tool call t1:"},
            {"type": "image_url", "image_url": {"url": "https://example.com/s.png"}},
        ],
    }
    assert_openai_accepts(out)


def test_unresolvable_sources_become_notes() -> None:
    body = _request(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                    {"type": "document", "source": {"type": "file", "file_id": "file_2"}},
                    {
                        "type": "document",
                        "source": {"type": "url", "url": "https://example.com/a.pdf"},
                    },
                    {"type": "container_upload", "file_id": "file_3"},
                    {
                        "type": "search_result",
                        "source": "s",
                        "title": "t",
                        "content": [{"type": "text", "text": "found"}],
                    },
                ],
            }
        ]
    )
    parts = anthropic_to_openai_request(body, "gpt")["messages"][0]["content"]
    assert parts == [
        {"type": "text", "text": "[image omitted: file source not available]"},
        {"type": "text", "text": "[document omitted: file source not available]"},
        {"type": "text", "text": "[document: https://example.com/a.pdf]"},
        {"type": "text", "text": "found"},
    ]


def test_tools_server_tools_and_missing_schema() -> None:
    tools = [
        {"type": "custom", "name": "NoSchema"},
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        {
            "name": "Plain",
            "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    ]
    out = anthropic_to_openai_request(_request(tools=tools), "gpt")
    assert out["tools"] == [
        {
            "type": "function",
            "function": {"name": "NoSchema", "parameters": {"type": "object", "properties": {}}},
        },
        {
            "type": "function",
            "function": {
                "name": "Plain",
                "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
            },
        },
    ]


def test_malformed_entries_are_skipped() -> None:
    body = _request(
        messages=[
            "not a message",
            {"role": "user", "content": [None, 3, {"type": "text", "text": "ok"}]},
            {"role": "narrator", "content": "ignored"},
            {"role": "assistant", "content": None},
        ],
        tools=[None, {"description": "no name"}],
        metadata="nope",
        stop_sequences=[],
    )
    out = anthropic_to_openai_request(body, "gpt")
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "ok"}]}]
    assert "tools" not in out and "user" not in out and "stop" not in out


def test_claude_code_shaped_request() -> None:
    body = claude_code_request(seed=3)
    before = orjson.dumps(body)
    out = anthropic_to_openai_request(body, "gpt-5")
    assert orjson.dumps(body) == before
    assert_openai_accepts(out)
    messages = out["messages"]
    assert messages[0]["role"] == "system"
    assert all(block["text"] in messages[0]["content"] for block in body["system"])
    assert messages[2]["role"] == "system"  # the system entry inside messages keeps its place
    assert len(out["tools"]) == 24
    assert all(
        t["function"]["parameters"] is s["input_schema"]
        for t, s in zip(out["tools"], body["tools"], strict=True)
    )
    assert out["reasoning_effort"] == "high"
    assert len(out["user"]) == 64
    assert sum(m["role"] == "tool" for m in messages) == 6
    assert not {"cache_control", "context_management", "output_config", "thinking"} & set(out)
    assert b"cache_control" not in orjson.dumps(out)
    assert b'"thinking"' not in orjson.dumps(out)


# --------------------------------------------------------------------- response


def _completion(
    message: dict[str, Any], finish_reason: str | None = "stop", **fields: Any
) -> dict[str, Any]:
    resp = {
        "id": "c1",
        "model": "gpt",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    resp.update(fields)
    return resp


def test_refusal_is_text_with_stop_reason_refusal() -> None:
    out, _ = openai_to_anthropic_response(
        _completion({"role": "assistant", "content": None, "refusal": "I can't."}), "m"
    )
    assert out["content"] == [{"type": "text", "text": "I can't."}]
    assert out["stop_reason"] == "refusal"


def test_response_content_as_parts_and_reasoning_field() -> None:
    message = {
        "role": "assistant",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        "reasoning": "r",
    }
    out, _ = openai_to_anthropic_response(_completion(message), "m")
    assert out["content"] == [
        {"type": "thinking", "thinking": "r", "signature": ""},
        {"type": "text", "text": "ab"},
    ]


def test_response_without_choices_or_ids() -> None:
    out, usage = openai_to_anthropic_response({}, "fallback")
    assert out["id"].startswith("msg_") and len(out["id"]) > 4
    assert out["model"] == "fallback" and out["content"] == [] and out["stop_reason"] == "end_turn"
    assert usage.prompt_tokens == 0
    call = {"type": "function", "function": {"name": "X", "arguments": {"already": "parsed"}}}
    out, _ = openai_to_anthropic_response(
        _completion({"role": "assistant", "tool_calls": [call]}, "tool_calls"), "m"
    )
    block = out["content"][0]
    assert block["id"].startswith("toolu_") and block["input"] == {"already": "parsed"}


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        # Without any tool call (docs/failure-modes.md): tool_use would stall the client.
        ("tool_calls", "end_turn"),
        ("function_call", "end_turn"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("eos", "end_turn"),
    ],
)
def test_finish_reasons(finish_reason: str | None, stop_reason: str) -> None:
    out, _ = openai_to_anthropic_response(
        _completion({"role": "assistant", "content": "x"}, finish_reason), "m"
    )
    assert out["stop_reason"] == stop_reason


def test_stop_sequence_only_when_it_was_requested() -> None:
    resp = _completion({"role": "assistant", "content": "x"}, "stop")
    resp["choices"][0]["matched_stop"] = "END"
    assert openai_to_anthropic_response(resp, "m", ["END"])[0]["stop_sequence"] == "END"
    assert openai_to_anthropic_response(resp, "m", ["OTHER"])[0]["stop_reason"] == "end_turn"
    assert openai_to_anthropic_response(resp, "m")[0]["stop_reason"] == "end_turn"


# ----------------------------------------------------------------------- stream


def _chunk(
    delta: dict[str, Any] | None = None, finish_reason: str | None = None, **fields: Any
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": "s",
        "model": "gpt",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}],
    }
    chunk.update(fields)
    return chunk


def _run(
    chunks: list[dict[str, Any]], end: str = "finish", **kwargs: Any
) -> tuple[list[Any], OpenAIToAnthropicStream, bytes]:
    translator = OpenAIToAnthropicStream("gpt", **kwargs)
    raw = b"".join(translator.feed(c) for c in chunks)
    raw += (
        translator.finish()
        if end == "finish"
        else translator.fail("overloaded_error", "connection reset")
    )
    events = parse_sse(raw)
    validate_anthropic_events(events)
    return events, translator, raw


def _types(events: list[Any]) -> list[str]:
    out = []
    for name, data in events:
        if name == "content_block_start":
            out.append("start:" + data["content_block"]["type"])
        elif name == "content_block_delta":
            out.append(data["delta"]["type"])
        else:
            out.append(name)
    return out


def test_tool_calls_without_index_are_keyed_by_id() -> None:
    # Some OpenAI-compatible servers send each call whole, with an id and no index.
    calls = [
        {"id": "a", "type": "function", "function": {"name": "Read", "arguments": '{"p": 1}'}},
        {"id": "b", "type": "function", "function": {"name": "Read", "arguments": '{"p": 2}'}},
    ]
    _, _, raw = _run([_chunk({"tool_calls": calls}), _chunk(finish_reason="tool_calls")])
    message = replay_anthropic_stream(raw)
    assert [(b.id, b.input) for b in message.content] == [("a", {"p": 1}), ("b", {"p": 2})]  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"


def test_tool_call_continuations_without_index_or_id_follow_the_last_call() -> None:
    chunks = [
        _chunk({"tool_calls": [{"id": "a", "function": {"name": "Read", "arguments": '{"p"'}}]}),
        _chunk({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),
        _chunk(finish_reason="tool_calls"),
    ]
    _, _, raw = _run(chunks)
    assert replay_anthropic_stream(raw).content[0].input == {"p": 1}  # type: ignore[union-attr]


def test_tool_call_name_arriving_late_delays_the_block() -> None:
    chunks = [
        _chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"arguments": '{"p"'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"name": "Read", "arguments": ": 1}"}}]}),
        _chunk(finish_reason="tool_calls"),
    ]
    events, _, raw = _run(chunks)
    assert _types(events) == [
        "message_start",
        "start:tool_use",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    block = replay_anthropic_stream(raw).content[0]
    assert (block.name, block.input) == ("Read", {"p": 1})  # type: ignore[union-attr]


def test_tool_call_without_id_gets_one() -> None:
    events, _, _ = _run(
        [
            _chunk({"tool_calls": [{"index": 0, "function": {"name": "X", "arguments": "{}"}}]}),
            _chunk(finish_reason="stop"),
        ]
    )
    start = next(d for n, d in events if n == "content_block_start")
    assert start["content_block"]["id"].startswith("toolu_")
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_text_after_a_tool_call_closes_it_and_late_fragments_are_dropped() -> None:
    chunks = [
        _chunk(
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "X", "arguments": "{}"}}]}
        ),
        _chunk({"content": "note"}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "  "}}]}),
        _chunk(finish_reason="tool_calls"),
    ]
    events, _, _ = _run(chunks)
    assert _types(events) == [
        "message_start",
        "start:tool_use",
        "input_json_delta",
        "content_block_stop",
        "start:text",
        "text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_invalid_tool_json_streams_without_crashing() -> None:
    chunks = [
        _chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "a", "function": {"name": "X", "arguments": "{'bad': "}}
                ]
            }
        ),
        _chunk(
            {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "Y", "arguments": "{}"}}]}
        ),
        _chunk(finish_reason="tool_calls"),
    ]
    events, translator, _ = _run(chunks)
    assert _types(events).count("start:tool_use") == 2
    assert translator.completed


def test_reasoning_after_text_opens_a_new_thinking_block() -> None:
    chunks = [
        _chunk({"reasoning_content": "a"}),
        _chunk({"content": "b"}),
        _chunk({"reasoning_content": "c"}),
        _chunk(finish_reason="stop"),
    ]
    events, _, _ = _run(chunks)
    assert _types(events).count("start:thinking") == 2
    assert _types(events).count("signature_delta") == 2


def test_refusal_delta() -> None:
    events, _, _ = _run([_chunk({"refusal": "No."}), _chunk(finish_reason="stop")])
    assert events[-2][1]["delta"]["stop_reason"] == "refusal"


def test_content_after_finish_and_other_choices_are_ignored() -> None:
    other = {
        "id": "s",
        "choices": [{"index": 1, "delta": {"content": "second choice"}, "finish_reason": None}],
    }
    chunks = [
        _chunk({"content": "a"}),
        other,
        _chunk(finish_reason="stop"),
        _chunk({"content": "late"}),
    ]
    _, _, raw = _run(chunks)
    assert b"second choice" not in raw and b"late" not in raw


def test_fail_emits_an_error_event_and_then_nothing() -> None:
    events, translator, _ = _run([_chunk({"content": "partial"})], end="fail")
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "connection reset"}},
    )
    assert translator.feed(_chunk({"content": "more"})) == b""
    assert translator.finish() == b"" and translator.fail("api_error", "again") == b""
    assert not translator.completed
    assert translator.usage.estimated and translator.usage.completion_tokens == 2


def test_error_before_any_chunk() -> None:
    translator = OpenAIToAnthropicStream("gpt", 10)
    events = parse_sse(translator.feed({"error": {"message": "Invalid API key", "code": 401}}))
    assert events == [
        (
            "error",
            {
                "type": "error",
                "error": {"type": "authentication_error", "message": "Invalid API key"},
            },
        )
    ]
    assert translator.usage.prompt_tokens == 10 and translator.usage.estimated


def test_finish_reason_error() -> None:
    events, translator, _ = _run([_chunk({"content": "a"}), _chunk(finish_reason="error")])
    assert events[-1][0] == "error" and not translator.completed


def test_finish_without_any_chunk_is_an_error() -> None:
    events, translator, _ = _run([])
    assert [name for name, _ in events] == ["error"]
    assert translator.usage.completion_tokens == 0


def test_usage_is_an_estimate_until_reported() -> None:
    translator = OpenAIToAnthropicStream("gpt", 77)
    translator.feed(_chunk({"content": "abc"}))
    assert translator.usage.prompt_tokens == 77 and translator.usage.estimated
    translator.feed(_chunk(finish_reason="stop"))
    assert translator.completed
    out = translator.feed(
        {"id": "s", "choices": [], "usage": {"prompt_tokens": 80, "completion_tokens": 2}}
    )
    assert b"message_stop" in out
    assert (translator.usage.prompt_tokens, translator.usage.estimated) == (80, False)
    assert translator.finish() == b""


def test_response_model_and_message_start_model() -> None:
    translator = OpenAIToAnthropicStream("requested")
    events = parse_sse(
        translator.feed({"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}}]})
    )
    assert events[0][1]["message"]["model"] == "requested"
    assert translator.response_model is None


def test_many_chunks_stream_incrementally() -> None:
    translator = OpenAIToAnthropicStream("gpt")
    first = translator.feed(_chunk({"content": "x"}))
    assert b"message_start" in first and b"text_delta" in first
    for _ in range(5000):
        assert translator.feed(_chunk({"content": "x"})).startswith(b"event: content_block_delta")


_CLOSED = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"label": {"type": "string"}},
                "required": ["label"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["name", "tags"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("where", ["output_config", "output_format"])
def test_structured_output_becomes_response_format(where: str) -> None:
    fmt = {"type": "json_schema", "schema": _CLOSED}
    extra = (
        {"output_config": {"format": fmt}} if where == "output_config" else {"output_format": fmt}
    )
    out = anthropic_to_openai_request(_request(**extra), "gpt")
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": _CLOSED, "strict": True},
    }
    assert "output_config" not in out and "output_format" not in out
    assert_openai_accepts(out)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}},  # open object
        {  # not every property required
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "required": ["a"],
            "additionalProperties": False,
        },
        {  # an open object further down
            "type": "object",
            "properties": {"a": {"type": "array", "items": {"type": "object"}}},
            "required": ["a"],
            "additionalProperties": False,
        },
        {"type": "object", "additionalProperties": False, "allOf": [{"type": "object"}]},
    ],
)
def test_schema_outside_the_strict_subset_is_sent_non_strict(schema: dict[str, Any]) -> None:
    body = _request(output_config={"format": {"type": "json_schema", "schema": schema}})
    out = anthropic_to_openai_request(body, "gpt")
    assert out["response_format"]["json_schema"]["strict"] is False
    assert out["response_format"]["json_schema"]["schema"] == schema


def test_effort_alone_asks_no_response_format() -> None:
    out = anthropic_to_openai_request(_request(output_config={"effort": "high"}), "gpt")
    assert "response_format" not in out
