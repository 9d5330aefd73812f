"""Failure modes users of other gateways report (docs/failure-modes.md), at the
translation level: the emulator's validator refuses the naive request as the
real API does, and lockgate's translation of it passes the same validator.

Each test names its row in docs/failure-modes.md.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from tests.ai.fixtures import PNG_BASE64
from tests.llm.wire.anthropic_events import parse_sse, replay_anthropic_stream

from lockgate.llm.conversions import conversion
from lockgate.llm.wire.anthropic_openai import (
    OpenAIToAnthropicStream,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
    shortened_tool_names,
)
from lockgate.llm.wire.openai_anthropic import openai_to_anthropic_request
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
