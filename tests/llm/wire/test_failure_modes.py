"""Failure modes users of other gateways report (docs/failure-modes.md), at the
translation level: the emulator's validator refuses the naive request as the
real API does, and lockgate's translation of it passes the same validator.

Each test names its row in docs/failure-modes.md.
"""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import orjson
import pytest
from tests.ai.fixtures import PNG_BASE64
from tests.llm.wire.anthropic_events import (
    parse_sse,
    replay_anthropic_stream,
    validate_anthropic_events,
)
from tests.llm.wire.claude_code_like import claude_code_request

from lockgate.llm.conversions import conversion
from lockgate.llm.wire.anthropic_openai import (
    OpenAIToAnthropicStream,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
    shortened_tool_names,
)
from lockgate.llm.wire.errors import upstream_error_to_anthropic, upstream_error_to_openai
from lockgate.llm.wire.openai import OpenAIStreamObserver
from lockgate.llm.wire.openai_anthropic import (
    anthropic_to_openai_response,
    openai_to_anthropic_request,
)
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream
from lockgate.testing.emulator.anthropic_validate import validate_messages
from lockgate.testing.emulator.gemini_validate import validate_generate
from lockgate.testing.emulator.openai_validate import ChatRules, validate_chat
from lockgate.testing.emulator.responses import ApiError

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
READ = {"name": "Read", "input_schema": {"type": "object", "properties": {}}}


def _openai_fail(message: str, param: str | None, code: str | None) -> ApiError:
    return ApiError(400, {"error": {"message": message, "param": param, "code": code}})


def openai_error(body: dict[str, Any]) -> dict[str, Any] | None:
    """The OpenAI emulator's 400 body for ``body``, or None when it accepts it."""
    try:
        validate_chat(ChatRules(), _openai_fail, orjson.loads(orjson.dumps(body)))
    except ApiError as err:
        assert isinstance(err.body, dict)
        return dict(err.body["error"])
    return None


def anthropic_error(body: dict[str, Any]) -> str | None:
    """The Anthropic emulator's 400 message for ``body``, or None when it accepts it."""
    try:
        validate_messages(orjson.loads(orjson.dumps(body)), set(), b"secret")
    except ApiError as err:
        assert err.status == 400 and isinstance(err.body, dict)
        assert err.body["error"]["type"] == "invalid_request_error"
        return str(err.body["error"]["message"])
    return None


def _stream(chunks: list[dict[str, Any]], **kwargs: Any) -> bytes:
    translator = OpenAIToAnthropicStream("gpt-4.1", 10, **kwargs)
    return b"".join(translator.feed(c) for c in chunks) + translator.finish()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "model": "gpt-4.1",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


# -- whitespace-only text blocks -> Anthropic -----------------------------------------


def test_whitespace_only_text_never_reaches_anthropic() -> None:
    naive = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [{"type": "text", "text": " \n"}]}],
    }
    assert anthropic_error(naive) == (
        "messages: text content blocks must contain non-whitespace text"
    )
    body = {
        "model": "gpt-4.1",
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "\n"}, {"type": "text", "text": "Weather?"}]},
            {
                "role": "assistant",
                "content": "\n\n",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "assistant", "content": " "},
            {"role": "user", "content": "  \t"},
            {"role": "user", "content": "Thanks."},
        ],
    }  # fmt: skip
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None
    texts = [b["text"] for m in out["messages"] for b in m["content"] if b["type"] == "text"]
    assert texts == ["Weather?", "Thanks."]


# -- tool-call ids with characters Anthropic refuses ----------------------------------


def test_foreign_tool_call_ids_are_made_valid_for_anthropic_and_stay_paired() -> None:
    # Kimi/Moonshot name calls "functions.get_weather:0"; some servers send no id at all.
    ids = ["functions.get_weather:0", "functions.get_weather:1", "call|abc", ""]
    calls = [
        {"id": i, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        for i in ids
    ]
    body = {
        "model": "gpt-4.1",
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "Weather in four cities?"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            *({"role": "tool", "tool_call_id": i, "content": f"r{n}"} for n, i in enumerate(ids)),
        ],
    }
    naive = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": ids[0], "name": "get_weather", "input": {}}],
            },
        ],
    }
    assert anthropic_error(naive) == (
        "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
    )
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None
    uses = [b["id"] for b in out["messages"][1]["content"]]
    results = [b["tool_use_id"] for b in out["messages"][2]["content"]]
    assert uses == results and len(set(uses)) == 4
    assert [b["content"] for b in out["messages"][2]["content"]] == ["r0", "r1", "r2", "r3"]


# -- finish_reason tool_calls without any tool call --------------------------------------


def test_tool_calls_finish_without_calls_is_end_turn() -> None:
    resp = {
        "id": "c1",
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Done.", "tool_calls": []},
                "finish_reason": "tool_calls",
            }
        ],
    }
    message, _ = openai_to_anthropic_response(resp, "gpt-4.1")
    assert message["stop_reason"] == "end_turn"
    raw = _stream([_chunk({"content": "Done."}), _chunk({}, "tool_calls")])
    final = replay_anthropic_stream(raw)
    assert final.stop_reason == "end_turn"
    assert [b.type for b in final.content] == ["text"]


# -- temperature and top_p together -> Claude 4.x --------------------------------------------


def test_temperature_and_top_p_are_not_both_sent_to_claude() -> None:
    naive = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert anthropic_error(naive) == (
        "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    )
    body = {"model": "gpt-4.1", "temperature": 0.2, "top_p": 0.9, "messages": naive["messages"]}
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None
    assert out["temperature"] == 0.2 and "top_p" not in out
    only_top_p = openai_to_anthropic_request({**body, "temperature": None}, "claude-sonnet-4-6")
    assert only_top_p["top_p"] == 0.9 and "temperature" not in only_top_p


# -- image whose declared media type is not its real one -> Anthropic ---------------------


@pytest.mark.parametrize("declared", ["image/jpeg", "image/jpg", "image/webp"])
def test_image_media_type_follows_the_bytes(declared: str) -> None:
    url = f"data:{declared};base64,{PNG_BASE64}"
    naive = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/jpeg",
                            "data": PNG_BASE64,
                        },
                    }
                ],
            }
        ],
    }
    assert anthropic_error(naive) == (
        "messages.0.content.0.image.source.base64: The image was specified using the image/jpeg "
        "media type, but the image appears to be a image/png image"
    )
    body = {
        "model": "gpt-4.1",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    }
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None
    source = out["messages"][0]["content"][1]["source"]
    assert source == {"type": "base64", "media_type": "image/png", "data": PNG_BASE64}


def test_jpeg_bytes_labelled_png_become_jpeg() -> None:
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 16).decode()
    body = {
        "model": "gpt-4.1",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{jpeg}"}}],
            }
        ],
    }  # fmt: skip
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert out["messages"][0]["content"][0]["source"]["media_type"] == "image/jpeg"
    assert anthropic_error(out) is None


# -- long tool-call ids (Gemini-minted, with a thought signature) -> OpenAI ----------------


def _anthropic_history(call_id: str, name: str = "Read") -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "tools": [{**READ, "name": name}],
        "messages": [
            {"role": "user", "content": "Read it."},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": call_id, "name": name, "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "ok"}],
            },
        ],
    }


def test_long_tool_call_ids_are_shortened_for_openai() -> None:
    long_id = "toolu_a1b2c3d4e5f6_0_sig_" + "Q2lnbmF0dXJl" * 20
    naive = {
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": long_id, "type": "function", "function": {"name": "Read", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": long_id, "content": "ok"},
        ],
    }  # fmt: skip
    error = openai_error(naive)
    assert error is not None and error["code"] == "string_above_max_length"
    assert error["message"] == (
        "Invalid 'messages[1].tool_calls[0].id': string too long. Expected a string with maximum "
        f"length 40, but got a string with length {len(long_id)} instead."
    )
    out = anthropic_to_openai_request(_anthropic_history(long_id), "gpt-4.1")
    assert openai_error(out) is None
    call_id = out["messages"][1]["tool_calls"][0]["id"]
    assert len(call_id) <= 40 and out["messages"][2]["tool_call_id"] == call_id


# -- tool names longer than 64 characters (MCP tools) -> OpenAI ------------------------------

MCP_NAME = "mcp__plugin_chrome-devtools-mcp_chrome-devtools__performance_analyze_insight"


def test_long_tool_names_are_shortened_for_openai_and_restored() -> None:
    assert len(MCP_NAME) > 64
    naive = {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": MCP_NAME, "parameters": {}}}],
    }
    error = openai_error(naive)
    assert error is not None and error["code"] == "string_above_max_length"
    assert error["message"] == (
        "Invalid 'tools[0].function.name': string too long. Expected a string with maximum length "
        f"64, but got a string with length {len(MCP_NAME)} instead."
    )
    body = _anthropic_history("toolu_01", MCP_NAME)
    body["tool_choice"] = {"type": "tool", "name": MCP_NAME}
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert openai_error(out) is None
    short = out["tools"][0]["function"]["name"]
    assert len(short) == 64 and short.startswith(MCP_NAME[:40])
    assert out["messages"][1]["tool_calls"][0]["function"]["name"] == short
    assert out["tool_choice"] == {"type": "function", "function": {"name": short}}

    call = {"id": "call_9", "type": "function", "function": {"name": short, "arguments": "{}"}}
    resp = {
        "id": "c1",
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    names = shortened_tool_names(body)
    message, _ = openai_to_anthropic_response(resp, "gpt-4.1", None, names)
    assert message["content"][0]["name"] == MCP_NAME
    head = {
        "index": 0,
        "id": "call_9",
        "type": "function",
        "function": {"name": short, "arguments": ""},
    }
    raw = _stream(
        [_chunk({"tool_calls": [head]}), _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}), _chunk({}, "tool_calls")],
        tool_names=names,
    )  # fmt: skip
    final = replay_anthropic_stream(raw)
    assert [(b.type, getattr(b, "name", None)) for b in final.content] == [("tool_use", MCP_NAME)]
    assert parse_sse(raw)


def gemini_error(body: dict[str, Any], model: str = "gemini-2.5-flash") -> str | None:
    """The Gemini (Vertex) emulator's 400 message for ``body``, or None when it accepts it."""
    try:
        validate_generate(orjson.loads(orjson.dumps(body)), model, True)
    except ApiError as err:
        assert isinstance(err.body, dict)
        return str(err.body["error"]["message"])
    return None


@pytest.mark.parametrize("client", ["anthropic", "openai"])
def test_long_tool_names_are_shortened_for_gemini_and_restored(client: str) -> None:
    conv = conversion(client, "gemini")
    if client == "anthropic":
        body = _anthropic_history("toolu_01", MCP_NAME)
        body["tool_choice"] = {"type": "tool", "name": MCP_NAME}
    else:
        body = {
            "model": "gemini-2.5-flash",
            "tools": [{"type": "function", "function": {"name": MCP_NAME, "parameters": {}}}],
            "tool_choice": {"type": "function", "function": {"name": MCP_NAME}},
            "messages": [{"role": "user", "content": "Profile the page."}],
        }
    naive = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": MCP_NAME}]}],
    }
    error = gemini_error(naive)
    assert error is not None and "with a maximum length of 64" in error
    assert conv.request is not None and conv.response is not None and conv.stream is not None
    out = conv.request(body, "gemini-2.5-flash")
    assert gemini_error(out) is None
    short = out["tools"][0]["functionDeclarations"][0]["name"]
    assert len(short) == 64
    assert out["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == [short]

    answer = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"functionCall": {"name": short, "args": {}}}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2},
    }  # fmt: skip
    translated, _ = conv.response(orjson.loads(orjson.dumps(answer)), "gemini-2.5-flash", body)
    raw = orjson.dumps(translated)
    assert MCP_NAME.encode() in raw and short.encode() not in raw

    class Call:
        include_usage = True

    call = Call()
    call.body = body  # type: ignore[attr-defined]
    translator = conv.stream("gemini-2.5-flash", 10, call)
    streamed = translator.feed(orjson.loads(orjson.dumps(answer))) + translator.finish()
    assert MCP_NAME.encode() in streamed and short.encode() not in streamed
    assert translator.completed


# == modes lockgate already handled: the test proves it ====================================


def _openai_chunk_stream(chunks: list[dict[str, Any]]) -> tuple[bytes, OpenAIToAnthropicStream]:
    translator = OpenAIToAnthropicStream("gpt-4.1", 10)
    raw = b"".join(translator.feed(c) for c in chunks) + translator.finish()
    return raw, translator


def test_tool_result_images_go_to_a_user_message_for_openai() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG_BASE64},
    }
    body = _anthropic_history("toolu_01")
    body["messages"][2]["content"][0]["content"] = [{"type": "text", "text": "shot"}, image]
    naive = {
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "Read", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,x"}}]},
        ],
    }  # fmt: skip
    error = openai_error(naive)
    assert error is not None and error["message"] == (
        "Invalid 'messages[2]'. Image URLs are only allowed for messages with role 'user', "
        "but this message with role 'tool' contains an image URL."
    )
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert openai_error(out) is None
    tool, user = out["messages"][2], out["messages"][3]
    assert tool == {"role": "tool", "tool_call_id": "toolu_01", "content": "shot"}
    assert user["role"] == "user" and user["content"][1]["type"] == "image_url"


def test_interleaved_parallel_tool_call_fragments_become_whole_blocks() -> None:
    def call(index: int, head: bool, args: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"index": index, "function": {"arguments": args}}
        if head:
            entry.update(id=f"call_{index}", type="function")
            entry["function"]["name"] = "get_weather"
        return _chunk({"tool_calls": [entry]})

    chunks = [
        call(0, True, ""),
        call(1, True, '{"ci'),
        call(0, False, '{"city": '),
        call(1, False, 'ty": "Oslo"}'),
        call(0, False, '"Paris"}'),
        _chunk({}, "tool_calls"),
    ]
    raw, _ = _openai_chunk_stream(chunks)
    validate_anthropic_events(parse_sse(raw))
    final = replay_anthropic_stream(raw)
    inputs = {b.id: b.input for b in final.content if b.type == "tool_use"}
    assert inputs == {"call_0": {"city": "Paris"}, "call_1": {"city": "Oslo"}}
    assert final.stop_reason == "tool_use"


def test_usage_missing_from_the_stream_is_estimated_not_zero() -> None:
    # No stream_options.include_usage honoured upstream: no usage chunk at all.
    raw, translator = _openai_chunk_stream(
        [_chunk({"content": "Hello there, this is a fairly long answer."}), _chunk({}, "stop")]
    )
    final = replay_anthropic_stream(raw)
    assert final.usage.output_tokens > 0
    assert translator.usage.estimated and translator.usage.completion_tokens > 0
    observer = OpenAIStreamObserver(input_tokens_estimate=50)
    observer.feed(_chunk({"content": "Hello there, this is a fairly long answer."}))
    observer.finish()
    assert observer.usage.prompt_tokens == 50 and observer.usage.completion_tokens > 0


def test_reasoning_content_becomes_a_closed_thinking_block() -> None:
    # DashScope/Qwen and DeepSeek stream their reasoning as delta.reasoning_content.
    chunks = [
        _chunk({"role": "assistant", "reasoning_content": "Let me think"}),
        _chunk({"reasoning_content": " about it."}),
        _chunk({"content": "Answer."}),
        _chunk({}, "stop"),
    ]
    raw, _ = _openai_chunk_stream(chunks)
    events = parse_sse(raw)
    validate_anthropic_events(events)
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
    assert deltas == ["thinking_delta", "thinking_delta", "signature_delta", "text_delta"]
    final = replay_anthropic_stream(raw)
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Let me think about it."  # type: ignore[union-attr]


@pytest.mark.parametrize("content", [None, "", []])
def test_assistant_turn_with_only_tool_calls_reaches_anthropic(content: Any) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    body = {
        "model": "gpt-4.1",
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": content, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    }
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None
    assert out["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}
    ]
    back = anthropic_to_openai_request(_anthropic_history("toolu_01"), "gpt-4.1")
    assert back["messages"][1]["content"] is None and openai_error(back) is None


def test_tool_choice_without_tools_is_never_sent() -> None:
    naive = {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "tool_choice": "required",
    }
    error = openai_error(naive)
    assert error is not None and "only allowed when 'tools' are specified" in error["message"]
    assert "tool_choice" not in openai_to_anthropic_request(naive, "claude-sonnet-4-6")
    assert "toolConfig" not in conversion("openai", "gemini").request(naive, "gemini-2.5-flash")  # type: ignore[misc]
    anthropic_body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "tool_choice": {"type": "any"},
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert "tool_choice" not in anthropic_to_openai_request(anthropic_body, "gpt-4.1")
    gemini = conversion("anthropic", "gemini").request(anthropic_body, "gemini-2.5-flash")  # type: ignore[misc]
    assert "toolConfig" not in gemini and gemini_error(gemini) is None


def test_thinking_and_redacted_thinking_never_reach_other_providers() -> None:
    # Claude Code's shape: redacted_thinking next to tool_use (free-claude-code#326).
    body = _anthropic_history("toolu_01")
    body["messages"][1]["content"] = [
        {"type": "thinking", "thinking": "Plan.", "signature": "c2ln"},
        body["messages"][1]["content"][0],
        {"type": "redacted_thinking", "data": "opaque"},
    ]
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert openai_error(out) is None
    assert b"thinking" not in orjson.dumps(out["messages"])
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "toolu_01", "content": "ok"}
    gemini = conversion("anthropic", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(gemini) is None and b"opaque" not in orjson.dumps(gemini)


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def test_cache_control_never_leaks_to_other_providers() -> None:
    body = claude_code_request()
    body["cache_control"] = {"type": "ephemeral"}  # automatic caching, top level
    assert "cache_control" in _keys(body["messages"]) | _keys(body["system"])
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert "cache_control" not in _keys(out) and openai_error(out) is None
    gemini = conversion("anthropic", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert "cache_control" not in _keys(gemini) and gemini_error(gemini) is None


def test_gemini_never_sees_json_schema_keywords_it_refuses() -> None:
    naive = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": "Read", "parameters": READ_SCHEMA}]}],
    }
    error = gemini_error(naive)
    assert error is not None and 'Unknown name "additionalProperties"' in error
    assert 'Unknown name "$schema"' in error
    body = claude_code_request()
    out = conversion("anthropic", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(out) is None and len(out["tools"][0]["functionDeclarations"]) == len(
        body["tools"]
    )


READ_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"path": {"type": "string"}, "limit": {"type": "integer", "exclusiveMinimum": 0}},
    "additionalProperties": False,
}


def test_developer_role_becomes_the_system_prompt() -> None:
    body = {
        "model": "gpt-5",
        "messages": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Hello"},
        ],
    }
    naive = {
        "contents": [
            {"role": "developer", "parts": [{"text": "Answer in French."}]},
            {"role": "user", "parts": [{"text": "Hello"}]},
        ]
    }
    assert gemini_error(naive) == "Please use a valid role: user, model."
    gemini = conversion("openai", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(gemini) is None
    assert gemini["systemInstruction"] == {"parts": [{"text": "Answer in French."}]}
    claude = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(claude) is None
    assert claude["system"] == [{"type": "text", "text": "Answer in French."}]


def test_legacy_function_role_reaches_gemini_as_a_function_response() -> None:
    body = {
        "model": "gemini-2.5-flash",
        "functions": [{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "function_call": {"name": "get_weather", "arguments": "{}"}},
            {"role": "function", "name": "get_weather", "content": '{"temp": 25}'},
        ],
    }  # fmt: skip
    out = conversion("openai", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(out) is None
    assert [c["role"] for c in out["contents"]] == ["user", "model", "user"]
    assert out["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("pause_turn", "stop"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_newer_anthropic_stop_reasons_map_to_openai_finish_reasons(
    stop_reason: str, finish_reason: str
) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": "x"}],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    out, _ = anthropic_to_openai_response(message, "claude-sonnet-4-6")
    assert out["choices"][0]["finish_reason"] == finish_reason
    stream = AnthropicToOpenAIStream("claude-sonnet-4-6")
    stream.feed(
        {"type": "message_start", "message": {**message, "content": [], "stop_reason": None}}
    )
    chunk = stream.feed(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason},
            "usage": {"output_tokens": 1},
        }
    )
    assert parse_sse(chunk)[0][1]["choices"][0]["finish_reason"] == finish_reason


def test_errors_in_the_middle_of_a_stream_reach_the_client_as_errors() -> None:
    raw, _ = _openai_chunk_stream(
        [
            _chunk({"content": "Partial"}),
            {"error": {"message": "Overloaded", "type": "overloaded_error"}},
        ]
    )
    events = parse_sse(raw)
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        replay_anthropic_stream(raw)
    to_openai = AnthropicToOpenAIStream("claude-sonnet-4-6")
    to_openai.feed(
        {
            "type": "message_start",
            "message": {"id": "m", "model": "claude-sonnet-4-6", "usage": {"input_tokens": 1}},
        }
    )
    error = to_openai.feed(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    assert parse_sse(error)[0][1] == {
        "error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}
    }
    gemini = conversion("anthropic", "gemini").stream("gemini-2.5-flash", 5, _Call({}))  # type: ignore[misc]
    gemini.feed({"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]})
    out = gemini.feed(
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    )
    assert parse_sse(out)[-1][1]["error"]["type"] == "overloaded_error"


class _Call:
    include_usage = False

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


def test_overloaded_keeps_its_meaning_across_formats() -> None:
    body = orjson.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    status, openai_body = upstream_error_to_openai(529, body)
    assert status == 503 and openai_body["error"]["message"] == "Overloaded"
    status, claude = upstream_error_to_anthropic(529, body)
    assert status == 529 and claude["error"]["type"] == "overloaded_error"
    openai_503 = orjson.dumps(
        {
            "error": {
                "message": "The engine is currently overloaded, please try again later.",
                "type": "server_error",
            }
        }
    )
    assert upstream_error_to_anthropic(503, openai_503)[1]["error"]["type"] == "overloaded_error"
    google = orjson.dumps(
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    )
    assert upstream_error_to_anthropic(503, google)[1]["error"]["type"] == "overloaded_error"


def test_interrupted_tool_call_is_answered_for_openai() -> None:
    # Claude Code after Esc: the tool_use has no result, the user writes again.
    body = _anthropic_history("toolu_01")
    body["messages"][2] = {
        "role": "user",
        "content": [{"type": "text", "text": "Stop, do something else."}],
    }
    naive = {
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "Read it."},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "toolu_01", "type": "function", "function": {"name": "Read", "arguments": "{}"}}]},
            {"role": "user", "content": "Stop, do something else."},
        ],
    }  # fmt: skip
    error = openai_error(naive)
    assert error is not None and "must be followed by tool messages" in error["message"]
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert openai_error(out) is None
    assert out["messages"][2]["role"] == "tool" and out["messages"][3]["role"] == "user"


def test_thinking_is_dropped_when_a_tool_is_forced() -> None:
    body = {
        "model": "gpt-5",
        "reasoning_effort": "high",
        "tools": [WEATHER],
        "tool_choice": "required",
        "messages": [{"role": "user", "content": "Weather?"}],
    }
    naive = {**openai_to_anthropic_request({**body, "tool_choice": "auto"}, "claude-sonnet-4-6")}
    naive["tool_choice"] = {"type": "any"}
    assert anthropic_error(naive) == "Thinking may not be enabled when tool_choice forces tool use."
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None and "thinking" not in out


@pytest.mark.parametrize("max_tokens", [1500, 2000, 40000])
def test_reasoning_effort_budget_fits_under_max_tokens(max_tokens: int) -> None:
    body = {
        "model": "gpt-5",
        "reasoning_effort": "high",
        "max_completion_tokens": max_tokens,
        "messages": [{"role": "user", "content": "Think."}],
    }
    naive = {
        "model": "claude-sonnet-4-6",
        "max_tokens": max_tokens,
        "thinking": {"type": "enabled", "budget_tokens": 32768},
        "messages": body["messages"],
    }
    if max_tokens <= 32768:
        assert (anthropic_error(naive) or "").startswith(
            "`max_tokens` must be greater than `thinking.budget_tokens`"
        )
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None and out["max_tokens"] == max_tokens


def test_claude_code_user_id_fits_openai_user() -> None:
    user_id = (
        '{"device_id":"' + "a" * 64 + '","account_uuid":"0f6e2b4a-1c3d","session_id":"5f8a9b0c"}'
    )
    body = {**_anthropic_history("toolu_01"), "metadata": {"user_id": user_id}}
    naive = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "user": user_id}
    error = openai_error(naive)
    assert error is not None and error["param"] == "user"
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert openai_error(out) is None and len(out["user"]) == 64


def test_message_start_always_carries_usage() -> None:
    for raw in (
        _openai_chunk_stream([_chunk({"content": "x"}), _chunk({}, "stop")])[0],
        (
            lambda t: (
                t.feed(
                    {
                        "candidates": [
                            {"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}
                        ]
                    }
                )
                + t.finish()
            )
        )(conversion("anthropic", "gemini").stream("gemini-2.5-flash", 7, _Call({}))),  # type: ignore[misc]
    ):
        name, start = parse_sse(raw)[0]
        usage = start["message"]["usage"]
        assert name == "message_start"
        assert isinstance(usage["input_tokens"], int) and isinstance(usage["output_tokens"], int)


def test_empty_turns_never_reach_gemini() -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "hm", "signature": "c2ln"}],
            },
            {
                "role": "user",
                "content": [{"type": "text", "text": ""}, {"type": "text", "text": "again"}],
            },
        ],
    }
    naive = {"contents": [{"role": "user", "parts": [{"text": ""}]}]}
    assert "empty text parameter" in (gemini_error(naive) or "")
    out = conversion("anthropic", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(out) is None


def test_text_with_an_empty_tool_calls_list_stays_text() -> None:
    # vLLM sends "tool_calls": [] beside content (BerriAI/litellm#29286).
    chunks = [
        _chunk({"role": "assistant", "content": "Hel", "tool_calls": []}),
        _chunk({"content": "lo.", "tool_calls": []}),
        _chunk({}, "stop"),
    ]
    raw, _ = _openai_chunk_stream(chunks)
    deltas = [d["delta"]["type"] for n, d in parse_sse(raw) if n == "content_block_delta"]
    assert deltas == ["text_delta", "text_delta"]
    final = replay_anthropic_stream(raw)
    assert [(b.type, getattr(b, "text", None)) for b in final.content] == [("text", "Hello.")]


def test_tool_call_arguments_before_its_name_are_kept() -> None:
    # Some servers send argument fragments before the id and name arrive.
    chunks = [
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_7", "function": {"name": "get_weather", "arguments": '"Rome"}'}}]}),
        _chunk({}, "tool_calls"),
    ]  # fmt: skip
    raw, _ = _openai_chunk_stream(chunks)
    final = replay_anthropic_stream(raw)
    assert [(b.type, getattr(b, "input", None)) for b in final.content] == [
        ("tool_use", {"city": "Rome"})
    ]


@pytest.mark.parametrize("parameters", [{}, {"properties": {}}, {"type": "object"}])
def test_tool_without_an_object_schema_reaches_gemini(parameters: dict[str, Any]) -> None:
    naive = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [
            {"functionDeclarations": [{"name": "todoread", "parameters": {"properties": {}}}]}
        ],
    }
    assert (gemini_error(naive) or "").startswith(
        "Unable to submit request because `todoread` functionDeclaration parameters schema should be of type OBJECT."
    )
    body = {
        "model": "gemini-2.5-flash",
        "tools": [{"type": "function", "function": {"name": "todoread", "parameters": parameters}}],
        "messages": [{"role": "user", "content": "List my todos."}],
    }
    out = conversion("openai", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(out) is None
    assert out["tools"][0]["functionDeclarations"] == [{"name": "todoread"}]


def test_repeated_tool_call_ids_in_one_turn_become_unique_for_anthropic() -> None:
    # One id for two parallel calls (BerriAI/litellm#23510, openclaw/openclaw#47136).
    calls = [
        {"id": "edit:22", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "A"}'}},
        {"id": "edit:22", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "B"}'}},
    ]  # fmt: skip
    body = {
        "model": "gpt-4.1",
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "Two cities."},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "edit:22", "content": "rain"},
            {"role": "tool", "tool_call_id": "edit:22", "content": "sun"},
        ],
    }
    naive = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "call_0", "name": "f", "input": {}},
                    {"type": "tool_use", "id": "call_0", "name": "f", "input": {}},
                ],
            },
        ],
    }
    assert anthropic_error(naive) == "messages.1.content.1: `tool_use` ids must be unique"
    out = openai_to_anthropic_request(body, "claude-sonnet-4-6")
    assert anthropic_error(out) is None
    uses = [(b["id"], b["input"]["city"]) for b in out["messages"][1]["content"]]
    results = [(b["tool_use_id"], b["content"]) for b in out["messages"][2]["content"]]
    assert len({i for i, _ in uses}) == 2
    assert [i for i, _ in results] == [i for i, _ in uses]
    assert [c for _, c in results] == ["rain", "sun"]


def test_repeated_tool_call_ids_in_one_answer_reach_claude_code_unique() -> None:
    calls = [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        },
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        },
    ]
    resp = {
        "id": "c1",
        "model": "qwen",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": calls},
                "finish_reason": "tool_calls",
            }
        ],
    }
    message, _ = openai_to_anthropic_response(resp, "qwen")
    ids = [b["id"] for b in message["content"]]
    assert len(set(ids)) == 2 and ids[0] == "call_0"
    heads = [
        _chunk({"tool_calls": [{"index": i, "id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]})
        for i in range(2)
    ]  # fmt: skip
    raw, _ = _openai_chunk_stream([*heads, _chunk({}, "tool_calls")])
    final = replay_anthropic_stream(raw)
    streamed = [b.id for b in final.content if b.type == "tool_use"]
    assert len(set(streamed)) == 2 and streamed[0] == "call_0"


def test_more_stop_sequences_than_openai_takes() -> None:
    stops = ["\n\nHuman:", "Observation:", "</answer>", "STOP", "###", "END"]
    body = {**_anthropic_history("toolu_01"), "stop_sequences": stops}
    naive = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "stop": stops}
    error = openai_error(naive)
    assert error is not None and error["code"] == "array_above_max_length"
    assert error["message"] == (
        "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an "
        "array with length 6 instead."
    )
    out = anthropic_to_openai_request(body, "gpt-4.1")
    assert openai_error(out) is None and out["stop"] == stops[:4]
    gemini = conversion("anthropic", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini["generationConfig"]["stopSequences"] == stops[:5]


@pytest.mark.parametrize("answered", [1, 0])
def test_partly_answered_parallel_calls_reach_gemini(answered: int) -> None:
    # Claude Code interrupted during two parallel calls: one result, or none.
    read = {
        "name": "Read",
        "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}},
    }
    results = [{"type": "tool_result", "tool_use_id": "toolu_a", "content": "one"}][:answered]
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "tools": [read],
        "messages": [
            {"role": "user", "content": "Read both."},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_a", "name": "Read", "input": {"p": "1"}},
                    {"type": "tool_use", "id": "toolu_b", "name": "Read", "input": {"p": "2"}},
                ],
            },
            {"role": "user", "content": [*results, {"type": "text", "text": "Stop."}]},
        ],
    }
    naive = {
        "contents": [
            {"role": "user", "parts": [{"text": "Read both."}]},
            {"role": "model", "parts": [{"functionCall": {"name": "Read", "args": {}}}, {"functionCall": {"name": "Read", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "Read", "response": {"content": "one"}}}]},
        ]
    }  # fmt: skip
    assert gemini_error(naive) == (
        "Please ensure that the number of function response parts is equal to the number of "
        "function call parts of the function call turn."
    )
    out = conversion("anthropic", "gemini").request(body, "gemini-2.5-flash")  # type: ignore[misc]
    assert gemini_error(out) is None
    responses = [p for p in out["contents"][2]["parts"] if "functionResponse" in p]
    assert len(responses) == 2
