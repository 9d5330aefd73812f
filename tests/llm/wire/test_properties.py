"""Property tests: the Anthropic <-> OpenAI translators never raise and always produce valid output."""

from __future__ import annotations

import string
from typing import Any

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.llm.wire.anthropic_events import (
    assert_anthropic_accepts,
    parse_sse,
    replay_anthropic_stream,
    replay_openai_stream,
    validate_anthropic_events,
)

from lockgate.llm.wire.anthropic_openai import OpenAIToAnthropicStream, anthropic_to_openai_request
from lockgate.llm.wire.openai_anthropic import openai_to_anthropic_request
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream
from lockgate.testing.emulator.openai_validate import ChatRules, validate_chat
from lockgate.testing.emulator.responses import ApiError

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON values as the gateway sees them (decoded by orjson: integers within 64 bits).
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
tool_names = st.sampled_from(["Read", "Bash", "Edit", "web_fetch", "mcp__srv__do-thing"])
call_ids = st.sampled_from(["toolu_1", "toolu_2", "toolu_3", "call_x"])


# ------------------------------------------------------------- OpenAI chunk streams


def _chunk(delta: Any, finish_reason: Any = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return {
        "id": "chatcmpl-p",
        "object": "chat.completion.chunk",
        "model": "gpt",
        "choices": [choice],
        **extra,
    }


tool_call_deltas = st.builds(
    lambda index, call_id, name, args: {
        k: v
        for k, v in {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": args},
        }.items()
        if v is not None
    },
    st.none() | st.integers(0, 3),
    st.none() | call_ids,
    st.none() | tool_names,
    st.none() | st.text(max_size=10),
)
usage_objects = st.fixed_dictionaries(
    {"prompt_tokens": st.integers(0, 10**6), "completion_tokens": st.integers(0, 10**5)},
    optional={
        "prompt_tokens_details": st.none()
        | st.fixed_dictionaries({"cached_tokens": st.integers(0, 1000)}),
        "completion_tokens_details": st.none()
        | st.fixed_dictionaries({"reasoning_tokens": st.integers(0, 1000)}),
    },
)
openai_chunks = st.one_of(
    st.text(max_size=10).map(lambda t: _chunk({"content": t})),
    st.tuples(st.sampled_from(["reasoning_content", "reasoning"]), st.text(max_size=10)).map(
        lambda kv: _chunk({kv[0]: kv[1]})
    ),
    st.lists(tool_call_deltas, min_size=1, max_size=3).map(
        lambda calls: _chunk({"tool_calls": calls})
    ),
    st.sampled_from(
        ["stop", "length", "tool_calls", "content_filter", "function_call", "weird", None]
    ).map(lambda reason: _chunk({}, reason)),
    usage_objects.map(lambda usage: {"id": "chatcmpl-p", "choices": [], "usage": usage}),
    st.text(max_size=10).map(lambda t: _chunk({"refusal": t})),
    st.sampled_from(
        [
            {"choices": None},
            {"choices": [None]},
            {"choices": {"0": {}}},
            {"choices": [{"delta": None}]},
            {"choices": [{"index": 1, "delta": {"content": "other"}}]},
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"tool_calls": "nope", "content": 5},
                        "finish_reason": ["x"],
                    }
                ]
            },
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": [1], "function": "f"}]}}]},
            {},
        ]
    ),
)
rare_errors = st.sampled_from(
    [
        {"error": {"message": "boom", "type": "server_error"}},
        {"error": "plain"},
        _chunk({}, "error"),
    ]
)


@SETTINGS
@given(
    chunks=st.lists(
        st.one_of(openai_chunks, openai_chunks, openai_chunks, rare_errors), max_size=25
    ),
    end=st.sampled_from(["finish", "fail"]),
)
def test_any_openai_chunks_give_a_valid_anthropic_stream(
    chunks: list[dict[str, Any]], end: str
) -> None:
    translator = OpenAIToAnthropicStream("gpt", 42, ["END"])
    raw = b"".join(translator.feed(chunk) for chunk in chunks)
    raw += translator.finish() if end == "finish" else translator.fail("api_error", "broken")
    validate_anthropic_events(parse_sse(raw))
    assert translator.feed(_chunk({"content": "after"})) == b""
    assert translator.finish() == b"" and translator.fail("api_error", "x") == b""
    usage = translator.usage
    assert usage.prompt_tokens >= 0 and usage.completion_tokens >= 0
    assert usage.reported or usage.estimated


@st.composite
def interleaved_tool_streams(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Tool calls with valid JSON arguments split at random points and interleaved by index."""
    count = draw(st.integers(1, 4))
    calls = {f"call_{i}": draw(json_objects) for i in range(count)}
    queues: list[list[dict[str, Any]]] = []
    for index, (call_id, arguments) in enumerate(calls.items()):
        text = orjson.dumps(arguments).decode()
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=6))))
        pieces = [
            text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if text[a:b]
        ]
        first_args = draw(st.sampled_from(["", pieces[0]]))
        if first_args:
            pieces = pieces[1:]
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": "Tool", "arguments": first_args},
        }
        queues.append(
            [head] + [{"index": index, "function": {"arguments": piece}} for piece in pieces]
        )
    chunks = []
    if draw(st.booleans()):
        chunks.append(
            _chunk({"role": "assistant", "content": draw(st.text(min_size=1, max_size=5))})
        )
    while any(queues):
        queue = draw(st.sampled_from([q for q in queues if q]))
        chunks.append(_chunk({"tool_calls": [queue.pop(0)]}))
    chunks.append(_chunk({}, "tool_calls"))
    if draw(st.booleans()):
        chunks.append(
            {
                "id": "chatcmpl-p",
                "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": 3},
            }
        )
    return chunks, calls


@SETTINGS
@given(stream=interleaved_tool_streams())
def test_interleaved_tool_calls_reach_both_sdks_intact(
    stream: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    chunks, calls = stream
    translator = OpenAIToAnthropicStream("gpt", 5)
    raw = b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish()
    events = parse_sse(raw)
    validate_anthropic_events(events)
    message = replay_anthropic_stream(raw)
    assert {b.id: b.input for b in message.content if b.type == "tool_use"} == calls
    assert message.stop_reason == "tool_use"

    # And back: the Anthropic events, translated for an OpenAI client, rebuild the same calls.
    back = AnthropicToOpenAIStream("claude", include_usage=True, created=1)
    raw_back = b"".join(back.feed(data) for _, data in events) + back.finish()
    completion = replay_openai_stream(raw_back)
    rebuilt = {
        c.id: orjson.loads(c.function.arguments or "{}")
        for c in completion.choices[0].message.tool_calls or []
    }
    assert rebuilt == calls
    assert completion.choices[0].finish_reason == "tool_calls"


# ------------------------------------------------------------- Anthropic requests


text_blocks = st.builds(
    lambda text, cache: {
        "type": "text",
        "text": text,
        **({"cache_control": {"type": "ephemeral"}} if cache else {}),
    },
    st.text(max_size=12),
    st.booleans(),
)
image_blocks = st.sampled_from(
    [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
        },
    ]
)
tool_use_blocks = st.builds(
    lambda call_id, name, arguments: {
        "type": "tool_use",
        "id": call_id,
        "name": name,
        "input": arguments,
    },
    call_ids,
    tool_names,
    json_objects,
)
result_content = st.none() | st.text(max_size=12) | st.lists(text_blocks | image_blocks, max_size=3)
tool_result_blocks = st.builds(
    lambda call_id, content, is_error: {
        "type": "tool_result",
        "tool_use_id": call_id,
        **({"content": content} if content is not None else {}),
        **({"is_error": is_error} if is_error is not None else {}),
    },
    call_ids | st.just("toolu_unknown"),
    result_content,
    st.none() | st.booleans(),
)
other_blocks = st.sampled_from(
    [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "redacted_thinking", "data": "xyz"},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "q"},
        },
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "mystery_block_from_the_future", "payload": 1},
    ]
)
any_block = st.one_of(
    text_blocks,
    text_blocks,
    image_blocks,
    tool_use_blocks,
    tool_result_blocks,
    tool_result_blocks,
    other_blocks,
)
anthropic_messages = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["user", "assistant", "user", "assistant", "system"]),
    st.text(max_size=10) | st.lists(any_block, max_size=5),
)
anthropic_tools = st.lists(
    st.one_of(
        st.builds(
            lambda name, desc: {
                "name": name,
                "description": desc,
                "input_schema": {"type": "object", "properties": {}, "additionalProperties": False},
            },
            tool_names,
            st.text(max_size=10),
        ),
        st.just({"type": "web_search_20250305", "name": "web_search", "max_uses": 2}),
    ),
    max_size=3,
)
anthropic_requests = st.fixed_dictionaries(
    {
        "model": st.just("claude"),
        "max_tokens": st.integers(1, 64000),
        "messages": st.lists(anthropic_messages, min_size=1, max_size=10),
    },
    optional={
        "system": st.text(max_size=10) | st.lists(text_blocks, max_size=3),
        "tools": anthropic_tools,
        "tool_choice": st.sampled_from(
            [
                {"type": "auto"},
                {"type": "any"},
                {"type": "none"},
                {"type": "tool", "name": "Read"},
                {"type": "auto", "disable_parallel_tool_use": True},
            ]
        ),
        "thinking": st.sampled_from(
            [
                {"type": "enabled", "budget_tokens": 2048},
                {"type": "enabled", "budget_tokens": 30000},
                {"type": "adaptive"},
                {"type": "disabled"},
            ]
        ),
        "output_config": st.just({"effort": "high"}),
        "context_management": st.just(
            {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
        ),
        "metadata": st.builds(
            lambda user_id: {"user_id": user_id}, st.text(min_size=1, max_size=100)
        ),
        "stop_sequences": st.lists(st.text(min_size=1, max_size=4), max_size=6),
        "temperature": st.floats(0, 1),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 100),
        "stream": st.booleans(),
        "unknown_future_field": json_values,
    },
)


def _fail(message: str, param: str | None, code: str | None) -> ApiError:
    return ApiError(400, {"error": {"message": message, "param": param, "code": code}})


@SETTINGS
@given(body=anthropic_requests)
def test_any_anthropic_request_gives_a_request_openai_accepts(body: dict[str, Any]) -> None:
    before = orjson.dumps(body)
    out = anthropic_to_openai_request(body, "gpt-4o")
    assert orjson.dumps(body) == before, "the client body is not modified"
    assume(out["messages"])  # a conversation of empty turns is empty on both sides
    # The OpenAI emulator's validator: tool messages answer the assistant tool calls just
    # before them, every call is answered, part types and fields are the ones OpenAI knows.
    validate_chat(ChatRules(), _fail, orjson.loads(orjson.dumps(out)))
    for message in out["messages"]:
        if message["role"] == "assistant":
            assert message["content"] or message.get("tool_calls"), "no empty assistant message"
    if "user" in out:
        assert len(out["user"]) <= 64


# ------------------------------------------------------------- OpenAI requests


openai_parts = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=10)),
    st.sampled_from(
        [
            {
                "type": "image_url",
                "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "low"},
            },
            {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}},
            {"type": "image_url", "image_url": {"url": "data:image/svg+xml,<svg/>"}},
            {
                "type": "file",
                "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "f.pdf"},
            },
            {"type": "file", "file": {"file_id": "file-abc"}},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        ]
    ),
)
openai_content = st.none() | st.text(max_size=10) | st.lists(openai_parts, max_size=4)
openai_tool_calls = st.lists(
    st.builds(
        lambda call_id, name, args: {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": args},
        },
        call_ids,
        tool_names,
        st.sampled_from(["{}", '{"a": 1}', '{"a"', "", "[1]", "null"]),
    ),
    max_size=3,
)
openai_messages = st.one_of(
    st.builds(
        lambda role, content: {"role": role, "content": content},
        st.sampled_from(["system", "developer", "user"]),
        openai_content,
    ),
    st.builds(
        lambda content, calls: {
            "role": "assistant",
            "content": content,
            **({"tool_calls": calls} if calls else {}),
        },
        openai_content,
        openai_tool_calls,
    ),
    st.builds(
        lambda call_id, content: {"role": "tool", "tool_call_id": call_id, "content": content},
        call_ids | st.just("call_orphan"),
        openai_content,
    ),
)
openai_requests = st.fixed_dictionaries(
    {"model": st.just("gpt"), "messages": st.lists(openai_messages, min_size=1, max_size=10)},
    optional={
        "tools": st.lists(
            st.builds(
                lambda name: {
                    "type": "function",
                    "function": {"name": name, "parameters": {"type": "object"}},
                },
                tool_names,
            ),
            max_size=2,
        ),
        "tool_choice": st.sampled_from(
            ["auto", "none", "required", {"type": "function", "function": {"name": "Read"}}]
        ),
        "parallel_tool_calls": st.booleans(),
        "reasoning_effort": st.sampled_from(
            ["none", "minimal", "low", "medium", "high", "extreme"]
        ),
        "max_tokens": st.integers(1, 100000),
        "max_completion_tokens": st.integers(1, 100000),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "stop": st.text(max_size=3) | st.lists(st.text(max_size=3), max_size=4),
        "user": st.text(max_size=300),
        "n": st.integers(1, 3),
        "stream": st.booleans(),
        "stream_options": st.just({"include_usage": True}),
    },
)


@SETTINGS
@given(body=openai_requests, default_max_tokens=st.integers(1, 8192))
def test_any_openai_request_gives_a_request_anthropic_accepts(
    body: dict[str, Any], default_max_tokens: int
) -> None:
    before = orjson.dumps(body)
    out = openai_to_anthropic_request(body, "claude", default_max_tokens)
    assert orjson.dumps(body) == before, "the client body is not modified"
    assume(out["messages"])
    assert_anthropic_accepts(out)
    assert 0 <= out.get("temperature", 0) <= 1
    for sequence in out.get("stop_sequences", []):
        assert sequence.strip()
    if "metadata" in out:
        assert len(out["metadata"]["user_id"]) <= 256
    orjson.dumps(out)


@SETTINGS
@given(text=st.text(alphabet=string.printable, max_size=50), pieces=st.integers(1, 10))
def test_text_survives_both_stream_directions(text: str, pieces: int) -> None:
    size = max(1, len(text) // pieces)
    chunks = [_chunk({"content": text[i : i + size]}) for i in range(0, len(text), size)]
    chunks += [
        _chunk({}, "stop"),
        {"id": "chatcmpl-p", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
    ]
    forward = OpenAIToAnthropicStream("gpt")
    raw = b"".join(forward.feed(c) for c in chunks) + forward.finish()
    message = replay_anthropic_stream(raw)
    assert "".join(b.text for b in message.content if b.type == "text") == text
    back = AnthropicToOpenAIStream("claude", include_usage=True, created=1)
    raw_back = b"".join(back.feed(d) for _, d in parse_sse(raw)) + back.finish()
    assert (replay_openai_stream(raw_back).choices[0].message.content or "") == text
