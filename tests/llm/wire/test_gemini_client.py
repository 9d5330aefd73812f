"""Golden tests of the Gemini client codec (llm/wire/gemini_client*.py):
GenerateContentRequest -> the conversation model, Anthropic messages and
stream events -> GenerateContentResponse chunks, checked against the official
``google-genai`` SDK's types."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
from google.genai import types
from tests.llm.wire.anthropic_events import assert_anthropic_accepts, parse_sse

from lockgate.llm.sse import encode_data
from lockgate.llm.usage import Usage
from lockgate.llm.wire.gemini_client import (
    anthropic_to_gemini_response,
    count_request,
    gemini_request_problem,
    gemini_to_anthropic_request,
    json_schema_from_openapi,
    pack_thinking,
    unpack_thinking,
)
from lockgate.llm.wire.gemini_client_stream import (
    AnthropicToGeminiStream,
    ConverseToGeminiStream,
    GeminiStreamObserver,
    OpenAIToGeminiStream,
    json_array_stream,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
THINKING = {
    "type": "thinking",
    "thinking": "Let me check the weather.",
    "signature": "c2lnbmVk+/==",
}


def chunks_of(raw: bytes) -> list[dict[str, Any]]:
    """The data of each SSE event, each checked by the SDK's own response type."""
    out = []
    for _, data in parse_sse(raw):
        assert isinstance(data, dict)
        if "error" not in data:
            types.GenerateContentResponse.model_validate(data)
        out.append(data)
    return out


# -- requests -----------------------------------------------------------------


def test_full_request_decodes_into_the_conversation_model() -> None:
    body = {
        "systemInstruction": {
            "role": "user",
            "parts": [{"text": "Be brief."}, {"text": "Be kind."}],
        },
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What is in these?"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                    {"inline_data": {"mime_type": "application/pdf", "data": "JVBERi0="}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/a.jpg"}},
                    {
                        "inlineData": {
                            "mimeType": "text/plain",
                            "data": base64.b64encode(b"notes").decode(),
                        }
                    },
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "thinking hard", "thought": True, "thoughtSignature": "YWJj"},
                    {"text": "Checking."},
                    {
                        "functionCall": {
                            "id": "toolu_1",
                            "name": "get_weather",
                            "args": {"city": "Lima"},
                        }
                    },
                ],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": "toolu_1",
                            "name": "get_weather",
                            "response": {"output": "sunny"},
                        }
                    },
                    {"text": "And tomorrow?"},
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Weather in a city.",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {
                                "city": {"type": "STRING", "description": "The city."},
                                "days": {"type": "INTEGER", "nullable": True},
                            },
                            "required": ["city"],
                        },
                    },
                    {"name": "now", "parametersJsonSchema": {"type": "object", "properties": {}}},
                    {"name": "ping"},
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["now"]}},
        "generationConfig": {
            "temperature": 0.2,
            "topP": 0.9,
            "topK": 40,
            "maxOutputTokens": 512,
            "stopSequences": ["END"],
            "candidateCount": 1,
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }
    out = gemini_to_anthropic_request({**body, "stream": True}, "claude-sonnet-4-6")
    assert out == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 512,
        "stream": True,
        "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        "temperature": 0.2,  # and no top_p: Claude 4.1+ refuses both, temperature wins
        "top_k": 40,
        "stop_sequences": ["END"],
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather in a city.",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "The city."},
                        "days": {"type": ["integer", "null"]},
                    },
                    "required": ["city"],
                },
            },
            {"name": "now", "input_schema": {"type": "object", "properties": {}}},
            {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "tool", "name": "now"},
        "output_config": {
            "format": {
                "type": "json_schema",
                # Closed, as Anthropic's structured output demands (Gemini's are open).
                "schema": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "additionalProperties": False,
                },
            }
        },
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": "JVBERi0=",
                        },
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                    {"type": "text", "text": "notes"},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "thinking hard", "signature": "YWJj"},
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Lima"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
    }
    assert_anthropic_accepts(out)


def test_calls_without_ids_get_stable_ids_and_responses_pair_by_name_in_order() -> None:
    contents = [
        {"role": "user", "parts": [{"text": "go"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "read", "args": {"path": "a"}}},
                {"functionCall": {"name": "list", "args": {}}},
                {"functionCall": {"name": "read", "args": {"path": "b"}}},
                {"functionCall": {"name": "forgotten"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "read", "response": {"output": "A"}}},
                {"functionResponse": {"name": "read", "response": {"output": "B"}}},
                {"functionResponse": {"name": "list", "response": {"files": ["a", "b"]}}},
                {"functionResponse": {"name": "stray", "response": {"error": "x"}}},
            ],
        },
    ]
    first = gemini_to_anthropic_request({"contents": contents}, "m")
    again = gemini_to_anthropic_request(
        {"contents": [*contents, {"role": "model", "parts": [{"text": "ok"}]}]}, "m"
    )
    uses = [b for b in first["messages"][1]["content"] if b["type"] == "tool_use"]
    assert [u["id"] for u in uses] == [b["id"] for b in again["messages"][1]["content"]]
    assert len({u["id"] for u in uses}) == 4
    results = first["messages"][2]["content"]
    by_id = {r["tool_use_id"]: r for r in results if r["type"] == "tool_result"}
    assert by_id[uses[0]["id"]]["content"] == "A"
    assert by_id[uses[2]["id"]]["content"] == "B"
    assert by_id[uses[1]["id"]]["content"] == '{"files":["a","b"]}'
    assert by_id[uses[3]["id"]]["is_error"] is True  # answered by nobody
    assert results[-1] == {"type": "text", "text": 'Result of stray: {"error":"x"}'}
    assert_anthropic_accepts(first)


def test_ids_unsafe_for_anthropic_are_changed_alike_on_call_and_response() -> None:
    out = gemini_to_anthropic_request(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "go"}]},
                {"role": "model", "parts": [{"functionCall": {"id": "call:1/x", "name": "f"}}]},
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"id": "call:1/x", "name": "f", "response": {}}}
                    ],
                },
            ]
        },
        "m",
    )
    use = out["messages"][1]["content"][0]
    assert use["id"] != "call:1/x" and use["id"] == out["messages"][2]["content"][0]["tool_use_id"]
    assert_anthropic_accepts(out)


def test_thinking_config_maps_to_a_budget_only_when_thoughts_are_shown() -> None:
    def thinking(config: dict[str, Any]) -> Any:
        body = {
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": config,
        }
        return gemini_to_anthropic_request(body, "m").get("thinking")

    assert thinking({"thinkingConfig": {"thinkingBudget": 4000, "includeThoughts": True}}) == {
        "type": "enabled",
        "budget_tokens": 4000,
    }
    assert thinking({"thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True}}) == {
        "type": "enabled",
        "budget_tokens": 16384,
    }
    assert thinking({"thinkingConfig": {"thinkingBudget": -1, "includeThoughts": True}}) == {
        "type": "enabled",
        "budget_tokens": 8192,
    }
    assert thinking({"maxOutputTokens": 3000, "thinkingConfig": {"includeThoughts": True}}) == {
        "type": "enabled",
        "budget_tokens": 2999,  # Anthropic counts thinking in max_tokens
    }
    assert thinking({"thinkingConfig": {"thinkingBudget": 4000}}) is None
    assert thinking({"thinkingConfig": {"thinkingBudget": 0, "includeThoughts": True}}) is None
    assert thinking({"maxOutputTokens": 1000, "thinkingConfig": {"includeThoughts": True}}) is None


def test_thinking_travels_in_the_signature_of_the_next_part() -> None:
    """Gemini CLI drops thought parts from its history but keeps signatures on calls."""
    message = {
        "id": "msg_1",
        "model": "claude-sonnet-4-6",
        "role": "assistant",
        "content": [
            THINKING,
            {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"},
            {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Lima"}},
        ],
        "stop_reason": "tool_use",
    }
    answer = anthropic_to_gemini_response(message, "claude-sonnet-4-6", Usage(10, 5))
    sdk = types.GenerateContentResponse.model_validate(answer)
    parts = answer["candidates"][0]["content"]["parts"]
    assert parts[0] == {"text": "Let me check the weather.", "thought": True}
    assert parts[1]["functionCall"] == {
        "id": "toolu_9",
        "name": "get_weather",
        "args": {"city": "Lima"},
    }
    # What the Python SDK sends back: the model turn without its thought parts,
    # the signature re-encoded URL-safe.
    history = sdk.candidates[0].content.model_dump(mode="json", by_alias=True, exclude_none=True)
    history["parts"] = [p for p in history["parts"] if not p.get("thought")]
    request = {
        "contents": [
            {"role": "user", "parts": [{"text": "weather?"}]},
            history,
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": "toolu_9",
                            "name": "get_weather",
                            "response": {"output": "sunny"},
                        }
                    }
                ],
            },
        ],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}},
    }
    out = gemini_to_anthropic_request(request, "claude-sonnet-4-6")
    assert out["messages"][1]["content"] == [
        THINKING,
        {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"},
        {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Lima"}},
    ]
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert_anthropic_accepts(out)


def test_gemini_cli_sampling_with_thinking_keeps_anthropics_rules() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 8192},
        },
    }
    out = gemini_to_anthropic_request(body, "claude-sonnet-4-6")
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert out["max_tokens"] == 8192 + 8192
    assert out["top_p"] == 0.95 and "temperature" not in out and "top_k" not in out
    assert_anthropic_accepts(out)
    body["generationConfig"]["temperature"] = 1.7
    body["toolConfig"] = {"functionCallingConfig": {"mode": "ANY"}}
    body["tools"] = [{"functionDeclarations": [{"name": "f"}]}]
    forced = gemini_to_anthropic_request(body, "claude-sonnet-4-6")
    assert "thinking" not in forced and forced["tool_choice"] == {"type": "any"}
    assert forced["temperature"] == 1 and "top_p" not in forced


def test_a_tool_loop_whose_thinking_was_lost_is_continued_without_thinking() -> None:
    request = {
        "contents": [
            {"role": "user", "parts": [{"text": "weather?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"id": "toolu_9", "name": "f", "args": {}}}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"id": "toolu_9", "name": "f", "response": {}}}],
            },
        ],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}},
    }
    assert "thinking" not in gemini_to_anthropic_request(request, "m")


def test_pack_round_trip_and_foreign_signatures() -> None:
    blocks = [THINKING, {"type": "redacted_thinking", "data": "eA=="}]
    packed = pack_thinking(blocks)
    base64.b64decode(packed, validate=True)  # plain base64, as the SDKs require
    assert unpack_thinking(packed) == blocks
    url_safe = base64.urlsafe_b64encode(base64.b64decode(packed)).decode()
    assert unpack_thinking(url_safe) == blocks
    assert unpack_thinking("skip_thought_signature_validator") is None
    assert unpack_thinking(base64.b64encode(b"gemini's own").decode()) is None
    assert (
        unpack_thinking(pack_thinking([{"type": "thinking", "thinking": "x", "signature": ""}]))
        == []
    )


def test_openapi_schemas_become_json_schema() -> None:
    assert json_schema_from_openapi(
        {
            "type": "OBJECT",
            "properties": {
                "tags": {
                    "type": "ARRAY",
                    "items": {"type": "STRING", "enum": ["a", "b"]},
                    "maxItems": "3",
                },
                "kind": {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}], "nullable": True},
            },
            "propertyOrdering": ["tags", "kind"],
        }
    ) == {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "enum": ["a", "b"]},
                "maxItems": "3",
            },
            "kind": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
        },
    }


def test_request_problems_and_count_requests() -> None:
    assert gemini_request_problem({}) == "contents is not specified"
    assert gemini_request_problem({"contents": "x"}) is not None
    assert gemini_request_problem({"contents": [1]}) is not None
    assert (
        gemini_request_problem({"generateContentRequest": {"contents": []}}, counting=True) is None
    )
    counted = count_request(
        {
            "generateContentRequest": {
                "model": "models/x",
                "contents": [{"parts": [{"text": "hi"}]}],
            }
        },
        "m",
    )
    assert counted == {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


# -- responses ----------------------------------------------------------------


def test_response_carries_finish_reason_usage_model_and_id() -> None:
    message = {
        "id": "msg_abc",
        "model": "claude-sonnet-4-6-20260101",
        "content": [{"type": "text", "text": "Hi."}],
        "stop_reason": "max_tokens",
    }
    usage = Usage(prompt_tokens=120, completion_tokens=30, cached_tokens=100, reasoning_tokens=10)
    answer = anthropic_to_gemini_response(message, "claude-sonnet-4-6", usage)
    assert answer == {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Hi."}]},
                "finishReason": "MAX_TOKENS",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 120,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 10,
            "cachedContentTokenCount": 100,
            "totalTokenCount": 150,
        },
        "modelVersion": "claude-sonnet-4-6-20260101",
        "responseId": "msg_abc",
    }
    sdk = types.GenerateContentResponse.model_validate(answer)
    assert sdk.text == "Hi." and sdk.usage_metadata.thoughts_token_count == 10
    refused = anthropic_to_gemini_response({"content": [], "stop_reason": "refusal"}, "m", Usage())
    assert refused["candidates"][0]["finishReason"] == "SAFETY"


# -- streams ------------------------------------------------------------------


def _anthropic_events() -> list[dict[str, Any]]:
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_s",
                "model": "claude-x",
                "role": "assistant",
                "content": [],
                "usage": {"input_tokens": 50, "output_tokens": 1, "cache_read_input_tokens": 7},
            },
        },
        {"type": "ping"},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Hmm."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "c2ln"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "Let me "},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "look."},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_s",
                "name": "get_weather",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"ci'},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": 'ty": "Lima"}'},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 40},
        },
        {"type": "message_stop"},
    ]


def test_anthropic_events_become_gemini_chunks() -> None:
    stream = AnthropicToGeminiStream("claude-sonnet-4-6", 99)
    raw = b"".join(stream.feed(e) for e in _anthropic_events()) + stream.finish()
    chunks = chunks_of(raw)
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"text": "Hmm.", "thought": True}
    assert parts[1] == {"text": "Let me "}
    assert parts[2] == {"text": "look."}
    # The thinking rides on the call, which Gemini CLI keeps whole in its history.
    signature = parts[3].pop("thoughtSignature")
    assert unpack_thinking(signature) == [
        {"type": "thinking", "thinking": "Hmm.", "signature": "c2ln"}
    ]
    assert parts[3] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Lima"}, "id": "toolu_s"}
    }
    # Sent back with the text merged and the thoughts dropped, as Gemini CLI does:
    # the thinking goes first in the assistant turn again.
    history = [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me look."},
                {"functionCall": parts[3]["functionCall"], "thoughtSignature": signature},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"id": "toolu_s", "name": "get_weather", "response": {}}}
            ],
        },
    ]
    decoded = gemini_to_anthropic_request({"contents": history}, "m")
    assert [b["type"] for b in decoded["messages"][1]["content"]] == [
        "thinking",
        "text",
        "tool_use",
    ]
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"] == {
        "promptTokenCount": 57,
        "candidatesTokenCount": 40,
        "totalTokenCount": 97,
        "cachedContentTokenCount": 7,
    }
    assert all(c["modelVersion"] == "claude-x" and c["responseId"] == "msg_s" for c in chunks)
    assert "finishReason" not in chunks[0]["candidates"][0]
    assert stream.completed and stream.usage.completion_tokens == 40


def test_stream_errors_and_premature_ends_are_google_error_chunks() -> None:
    stream = AnthropicToGeminiStream("m", 5)
    events = _anthropic_events()[:8]
    raw = b"".join(stream.feed(e) for e in events)
    raw += stream.feed(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    chunks = chunks_of(raw)
    assert chunks[-1] == {"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}}
    assert stream.feed(_anthropic_events()[-1]) == b"" and stream.finish() == b""
    assert not stream.completed

    cut = AnthropicToGeminiStream("m", 5)
    for e in events:
        cut.feed(e)
    assert chunks_of(cut.finish())[-1]["error"]["status"] == "INTERNAL"


def _openai_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4.1",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def test_openai_chunks_become_gemini_chunks_through_the_model_events() -> None:
    from lockgate.llm.wire.anthropic_openai import OpenAIToAnthropicStream

    stream = OpenAIToGeminiStream(OpenAIToAnthropicStream("gpt-4.1", 10), "gpt-4.1", 10)
    feed = [
        _openai_chunk({"role": "assistant", "content": "Sure"}),
        _openai_chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a":'}}
                ]
            }
        ),
        _openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}),
        _openai_chunk({}, "tool_calls"),
        {
            "id": "chatcmpl-1",
            "choices": [],
            "usage": {"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17},
        },
    ]
    raw = b"".join(stream.feed(c) for c in feed) + stream.finish()
    chunks = chunks_of(raw)
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"text": "Sure"}
    assert parts[1]["functionCall"]["args"] == {"a": 1} and parts[1]["functionCall"]["name"] == "f"
    assert chunks[-1]["usageMetadata"]["promptTokenCount"] == 11
    assert stream.completed and stream.usage.prompt_tokens == 11 and not stream.usage.estimated


def test_bedrock_events_become_gemini_chunks() -> None:
    stream = ConverseToGeminiStream("anthropic.claude", 10)
    feed = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hello"}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 8, "outputTokens": 2, "totalTokens": 10}}},
    ]
    chunks = chunks_of(b"".join(stream.feed(e) for e in feed) + stream.finish())
    assert chunks[0]["candidates"][0]["content"]["parts"] == [{"text": "Hello"}]
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == 10
    assert stream.completed


def test_passthrough_observer_keeps_the_last_usage() -> None:
    observer = GeminiStreamObserver(40)
    observer.feed(
        {
            "candidates": [{"content": {"parts": [{"text": "abcd"}]}}],
            "usageMetadata": {"promptTokenCount": 9},
        }
    )
    assert not observer.completed
    observer.feed(
        {
            "candidates": [{"content": {"parts": [{"text": "ef"}]}, "finishReason": "STOP"}],
            "usageMetadata": {
                "promptTokenCount": 9,
                "candidatesTokenCount": 3,
                "thoughtsTokenCount": 2,
            },
            "modelVersion": "gemini-2.5-flash-001",
        }
    )
    observer.finish()
    assert observer.completed and observer.response_model == "gemini-2.5-flash-001"
    assert (observer.usage.prompt_tokens, observer.usage.completion_tokens) == (9, 5)


def test_json_array_framing() -> None:
    async def collect(pieces: list[bytes]) -> bytes:
        async def source() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        return b"".join([p async for p in json_array_stream(source())])

    one, two = encode_data({"a": 1}), encode_data({"b": [2]})
    framed = asyncio.run(collect([one[:5], one[5:] + two[:3], two[3:]]))
    assert orjson.loads(framed) == [{"a": 1}, {"b": [2]}]
    assert orjson.loads(asyncio.run(collect([]))) == []
    assert orjson.loads(asyncio.run(collect([b'data: {"c": 3}']))) == [{"c": 3}]


def test_whitespace_only_text_is_left_out() -> None:
    """Anthropic refuses a text block of whitespace alone (found by the
    property test with a lone carriage return)."""
    out = gemini_to_anthropic_request(
        {
            "systemInstruction": {"parts": [{"text": " \n"}]},
            "contents": [
                {"role": "user", "parts": [{"text": "\r"}, {"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "\t"}, {"text": "Hello"}]},
                {"role": "user", "parts": [{"text": "Bye"}]},
            ],
        },
        "claude-sonnet-4-6",
    )
    assert "system" not in out or out["system"] == []
    texts = [b["text"] for m in out["messages"] for b in m["content"]]
    assert texts == ["Hi", "Hello", "Bye"]
    assert_anthropic_accepts(out)


def test_allowed_function_names_that_are_not_names_are_ignored() -> None:
    """A malformed allowedFunctionNames (found by the property test) forces
    no particular tool and does not raise."""
    out = gemini_to_anthropic_request(
        {
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
            "tools": [{"functionDeclarations": [{"name": "read"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [[]]}},
        },
        "claude-sonnet-4-6",
    )
    assert out["tool_choice"] == {"type": "any"}
