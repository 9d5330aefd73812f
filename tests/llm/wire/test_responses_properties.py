"""Property tests of the Responses codec: the decoder never raises and gives
requests Anthropic accepts; every stream the encoders produce, whatever the
upstream sent, is accepted by the official ``openai`` SDK's stream parser."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import assume, given
from hypothesis import strategies as st
from tests.llm.wire.anthropic_events import assert_anthropic_accepts
from tests.llm.wire.responses_events_check import validate_responses_stream
from tests.llm.wire.test_properties import (
    SETTINGS,
    json_objects,
    json_values,
    openai_chunks,
    rare_errors,
)

from lockgate.llm.conversions import conversion
from lockgate.llm.wire.responses_request import responses_to_anthropic_request
from lockgate.llm.wire.responses_stream import AnthropicEventsToResponses

texts = st.text(max_size=8)
call_ids = st.sampled_from(["call_1", "call_2", "c|3", "", "toolu_4"])
names = st.sampled_from(["exec_command", "apply_patch", "local_shell", "mcp__a__b"])
parts = st.one_of(
    st.builds(lambda t: {"type": "input_text", "text": t}, texts),
    st.builds(lambda t: {"type": "output_text", "text": t}, texts),
    st.sampled_from(
        [
            {"type": "input_image", "image_url": "https://example.com/a.png"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            {"type": "input_image", "file_id": "file-1"},
            {"type": "input_file", "file_data": "JVBERi0="},
            {"type": "refusal", "refusal": "no"},
            {"type": "input_audio"},
        ]
    ),
    json_objects,
)
content = texts | st.lists(parts, max_size=3)
items = st.one_of(
    st.builds(
        lambda role, c: {"type": "message", "role": role, "content": c},
        st.sampled_from(["user", "assistant", "system", "developer"]),
        content,
    ),
    st.builds(
        lambda i, n, a: {"type": "function_call", "call_id": i, "name": n, "arguments": a},
        call_ids,
        names,
        st.sampled_from(['{"cmd": "ls"}', "", "{", "[1]"]) | texts,
    ),
    st.builds(
        lambda i, o: {"type": "function_call_output", "call_id": i, "output": o},
        call_ids,
        texts | st.lists(parts, max_size=2) | json_values,
    ),
    st.builds(
        lambda i, n, t: {"type": "custom_tool_call", "call_id": i, "name": n, "input": t},
        call_ids,
        names,
        texts,
    ),
    st.builds(
        lambda i, o: {"type": "custom_tool_call_output", "call_id": i, "output": o}, call_ids, texts
    ),
    st.builds(
        lambda i, c: {
            "type": "local_shell_call",
            "call_id": i,
            "action": {"type": "exec", "command": c},
        },
        call_ids,
        st.lists(texts, max_size=2),
    ),
    st.builds(
        lambda i, o: {"type": "local_shell_call_output", "call_id": i, "output": o}, call_ids, texts
    ),
    st.builds(
        lambda s, e: {"type": "reasoning", "id": "rs_1", "summary": s, "encrypted_content": e},
        st.lists(st.builds(lambda t: {"type": "summary_text", "text": t}, texts), max_size=2),
        st.sampled_from(["gAAAA-opaque", "lockgate.thinking:SIG", "lockgate.redacted:DATA", None]),
    ),
    st.sampled_from([{"type": "item_reference", "id": "x"}, {"type": "web_search_call"}]),
    json_objects,
)
tools = st.lists(
    st.sampled_from(
        [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
            {"type": "function", "name": "mcp__a__b"},
            {
                "type": "custom",
                "name": "apply_patch",
                "format": {"type": "grammar", "definition": "s"},
            },
            {"type": "local_shell"},
            {"type": "web_search"},
            {"type": "function"},
        ]
    ),
    max_size=4,
)
requests = st.fixed_dictionaries(
    {"input": texts | st.lists(items, max_size=8)},
    optional={
        "instructions": texts | json_values,
        "tools": tools | json_values,
        "tool_choice": st.sampled_from(
            [
                "auto",
                "none",
                "required",
                {"type": "function", "name": "exec_command"},
                {"type": "custom", "name": "apply_patch"},
                {"type": "allowed_tools", "mode": "required"},
                5,
            ]
        ),
        "parallel_tool_calls": st.booleans() | json_values,
        "reasoning": st.fixed_dictionaries(
            {"effort": st.sampled_from(["minimal", "low", "medium", "high", "xhigh", "none", 3])}
        )
        | json_values,
        "max_output_tokens": st.integers(-5, 100000) | json_values,
        "temperature": st.floats(-1, 3) | json_values,
        "top_p": st.floats(0, 1) | json_values,
        "text": st.sampled_from(
            [
                {"format": {"type": "json_object"}},
                {"format": {"type": "json_schema", "schema": {"type": "object"}}},
                {"format": {"type": "text"}},
                {"format": 5},
            ]
        ),
        "stream": st.booleans(),
        "user": texts,
    },
)


@SETTINGS
@given(body=requests)
def test_any_responses_request_gives_a_request_anthropic_accepts(body: dict[str, Any]) -> None:
    before = orjson.dumps(body)
    out = responses_to_anthropic_request(body, "claude")
    assert orjson.dumps(body) == before, "the client body is not modified"
    orjson.dumps(out)
    assume(out["messages"])
    assert_anthropic_accepts(out)
    assert 0 <= out.get("temperature", 0) <= 1


@SETTINGS
@given(body=json_objects)
def test_any_json_object_decodes_without_raising(body: dict[str, Any]) -> None:
    responses_to_anthropic_request(body, "claude")


block_starts = st.sampled_from(
    [
        {"type": "text", "text": ""},
        {"type": "text", "text": "pre"},
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}},
        {"type": "tool_use", "id": "toolu_2", "name": "apply_patch", "input": {}},
        {"type": "tool_use", "id": "toolu_3", "name": "local_shell", "input": {"command": ["ls"]}},
        {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}},
        {"type": "web_search_tool_result"},
        None,
    ]
)
deltas = st.one_of(
    st.builds(lambda t: {"type": "text_delta", "text": t}, texts),
    st.builds(lambda t: {"type": "thinking_delta", "thinking": t}, texts),
    st.builds(lambda t: {"type": "signature_delta", "signature": t}, texts),
    st.builds(
        lambda t: {"type": "input_json_delta", "partial_json": t},
        st.sampled_from(['{"input": "x"}', '{"cmd"', ': "ls"}']) | texts,
    ),
    st.builds(lambda t: {"type": "citations_delta", "citation": t}, json_values),
    json_values,
)
indexes = st.integers(0, 3) | json_values
anthropic_events = st.one_of(
    st.builds(
        lambda i, b: {"type": "content_block_start", "index": i, "content_block": b},
        indexes,
        block_starts,
    ),
    st.builds(
        lambda i, d: {"type": "content_block_delta", "index": i, "delta": d}, indexes, deltas
    ),
    st.builds(lambda i: {"type": "content_block_stop", "index": i}, indexes),
    st.builds(
        lambda r, u: {"type": "message_delta", "delta": {"stop_reason": r}, "usage": u},
        st.sampled_from(["end_turn", "tool_use", "max_tokens", "refusal", "pause_turn", None, 5]),
        st.fixed_dictionaries({"output_tokens": st.integers(0, 1000)}) | json_values,
    ),
    st.sampled_from(
        [
            {
                "type": "message_start",
                "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 3}},
            },
            {"type": "message_start", "message": None},
            {"type": "message_stop"},
            {"type": "ping"},
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            {"type": "error", "error": "plain"},
        ]
    ),
    json_objects,
)


@SETTINGS
@given(
    events=st.lists(anthropic_events, max_size=30),
    end=st.sampled_from(["finish", "fail"]),
    body=requests,
)
def test_any_anthropic_events_give_a_stream_the_sdk_accepts(
    events: list[dict[str, Any]], end: str, body: dict[str, Any]
) -> None:
    encoder = AnthropicEventsToResponses("claude", body, 10)
    raw = b"".join(encoder.feed(e) for e in events)
    raw += encoder.finish() if end == "finish" else encoder.fail("api_error", "broke")
    assert encoder.feed({"type": "message_stop"}) == b"", "nothing after the end"
    validate_responses_stream(raw)


class _Call:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.include_usage = False
        self.request_id = "5e1f0c2a9b7d4e3f0000000000000007"
        self.started_at = 1796302723.25


@SETTINGS
@given(
    chunks=st.lists(
        st.one_of(openai_chunks, openai_chunks, openai_chunks, rare_errors), max_size=25
    ),
    end=st.sampled_from(["finish", "fail"]),
)
def test_any_chat_chunks_give_a_responses_stream_the_sdk_accepts(
    chunks: list[dict[str, Any]], end: str
) -> None:
    conv = conversion("responses", "openai")
    assert conv.stream is not None
    translator = conv.stream("qwen-plus", 10, _Call({"input": "x"}))
    raw = b"".join(translator.feed(c) for c in chunks)
    raw += translator.finish() if end == "finish" else translator.fail("api_error", "broke")
    validate_responses_stream(raw)


gemini_parts = st.one_of(
    st.builds(lambda t: {"text": t}, texts),
    st.builds(lambda t, s: {"text": t, "thought": True, "thoughtSignature": s}, texts, texts),
    st.builds(
        lambda a: {"functionCall": {"name": "exec_command", "args": a}}, json_objects | json_values
    ),
    json_objects,
)
gemini_chunks = st.one_of(
    st.builds(
        lambda p, f: {
            "candidates": [
                {"content": {"role": "model", "parts": p}, **({"finishReason": f} if f else {})}
            ]
        },
        st.lists(gemini_parts, max_size=3),
        st.sampled_from([None, "STOP", "MAX_TOKENS", "SAFETY"]),
    ),
    st.just({"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}}),
    st.just({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow"}}),
    json_objects,
)


@SETTINGS
@given(chunks=st.lists(gemini_chunks, max_size=12), end=st.sampled_from(["finish", "fail"]))
def test_any_gemini_chunks_give_a_responses_stream_the_sdk_accepts(
    chunks: list[dict[str, Any]], end: str
) -> None:
    conv = conversion("responses", "gemini")
    assert conv.stream is not None
    translator = conv.stream("gemini-2.5-flash", 10, _Call({"input": "x"}))
    raw = b"".join(translator.feed(c) for c in chunks)
    raw += translator.finish() if end == "finish" else translator.fail("api_error", "broke")
    validate_responses_stream(raw)
