"""OpenAI Chat Completions client in front of Gemini: golden fixtures, rule
tests, and a property test of the chunk stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.llm.wire.gemini_events_check import check_openai_chunks, gemini_chunks, parse_openai

from lockgate.llm.sse import SSEDecoder
from lockgate.llm.wire import StreamTranslator
from lockgate.llm.wire.openai_gemini import (
    GeminiToOpenAIStream,
    gemini_to_openai_response,
    openai_to_gemini_request,
)

GOLDEN = Path(__file__).with_name("golden_gemini")
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and p.name.startswith("openai_"))


def _load(case: Path, name: str) -> Any:
    return orjson.loads((case / name).read_bytes())


def _meta(case: Path) -> dict[str, Any]:
    return _load(case, "meta.json") if (case / "meta.json").exists() else {}


def _chunks(raw: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [orjson.loads(e.data) for e in decoder.feed(raw) + decoder.close()]


# -- golden ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", [c for c in CASES if (c / "client_request.json").exists()], ids=lambda c: c.name
)
def test_golden_request(case: Path) -> None:
    body = _load(case, "client_request.json")
    got = openai_to_gemini_request(body, model=_meta(case).get("upstream_model"))
    assert got == _load(case, "upstream_request.json")


@pytest.mark.parametrize(
    "case", [c for c in CASES if (c / "upstream_response.json").exists()], ids=lambda c: c.name
)
def test_golden_response(case: Path) -> None:
    model = _meta(case).get("model", "gemini-2.5-flash")
    response, usage = gemini_to_openai_response(_load(case, "upstream_response.json"), model)
    assert response == _load(case, "client_response.json")
    assert usage.total_tokens == response["usage"]["total_tokens"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if (c / "upstream_stream.sse").exists()], ids=lambda c: c.name
)
def test_golden_stream(case: Path) -> None:
    meta = _meta(case)
    translator = GeminiToOpenAIStream(
        meta.get("model", "gemini-2.5-flash"), meta.get("include_usage", False)
    )
    chunks = _chunks((case / "upstream_stream.sse").read_bytes())
    out = b"".join(translator.feed(c) for c in chunks) + translator.finish()
    events = parse_openai(out)
    check_openai_chunks(events)
    assert events == _load(case, "client_events.json")


# -- request rules -------------------------------------------------------------------


def _request(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return openai_to_gemini_request({"model": "gemini-2.5-pro", "messages": messages, **extra})


def test_legacy_function_messages_pair_by_name() -> None:
    out = _request(
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "f", "arguments": '{"a": 1}'},
            },
            {"role": "function", "name": "f", "content": "done"},
        ],
        functions=[
            {
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
            }
        ],
        function_call={"name": "f"},
    )
    assert out["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "f", "args": {"a": 1}},
                    "thoughtSignature": "skip_thought_signature_validator",
                }
            ],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "f", "response": {"content": "done"}}}],
        },
    ]
    assert out["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}
    }


def test_a_conversation_opening_with_the_assistant_gets_a_user_turn_first() -> None:
    out = _request(
        [
            {"role": "system", "content": "s"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {"role": "user", "content": "Hello"},
        ]
    )
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "."}]},
        {"role": "model", "parts": [{"text": "Hi! How can I help?"}]},
        {"role": "user", "parts": [{"text": "Hello"}]},
    ]


def test_created_comes_from_create_time_even_with_nanoseconds() -> None:
    resp = {"createTime": "2026-11-23T10:00:00.123456789Z", "candidates": []}
    assert gemini_to_openai_response(resp, "m")[0]["created"] == 1795428000


def test_tool_message_for_an_unknown_call_becomes_text() -> None:
    out = _request(
        [{"role": "user", "content": "go"}, {"role": "tool", "tool_call_id": "zz", "content": "r"}]
    )
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "go"}, {"text": "Result of tool call zz: r"}]}
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "f"}},
            {"mode": "ANY", "allowedFunctionNames": ["f"]},
        ),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    out = _request(
        [{"role": "user", "content": "x"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ],
        tool_choice=choice,
    )
    assert out["toolConfig"] == {"functionCallingConfig": expected}


@pytest.mark.parametrize(
    ("effort", "model", "expected"),
    [
        ("low", "gemini-2.5-flash", {"thinkingBudget": 1024, "includeThoughts": True}),
        ("high", "gemini-2.5-flash", {"thinkingBudget": 24576, "includeThoughts": True}),
        ("none", "gemini-2.5-flash", {"thinkingBudget": 0}),
        ("none", "gemini-2.5-pro", {"thinkingBudget": 128, "includeThoughts": True}),
        ("minimal", "gemini-2.5-flash-lite", {"thinkingBudget": 512, "includeThoughts": True}),
        ("medium", "gemini-3-pro-preview", {"thinkingBudget": 8192, "includeThoughts": True}),
        ("high", "gemini-1.5-pro", None),
        ("extreme", "gemini-2.5-pro", None),
    ],
)
def test_reasoning_effort(effort: str, model: str, expected: Any) -> None:
    body = {
        "model": "x",
        "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": effort,
    }
    config = openai_to_gemini_request(body, model=model).get("generationConfig", {})
    assert config.get("thinkingConfig") == expected


def test_json_object_mode_and_sampling_parameters() -> None:
    out = _request(
        [{"role": "user", "content": "x"}],
        response_format={"type": "json_object"},
        stop=["a", "b"],
        top_p=0.5,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        max_tokens=99,
        logprobs=True,
        n=3,
    )
    assert out["generationConfig"] == {
        "maxOutputTokens": 99,
        "topP": 0.5,
        "presencePenalty": 0.1,
        "frequencyPenalty": 0.2,
        "stopSequences": ["a", "b"],
        "responseMimeType": "application/json",
    }


def test_audio_and_file_parts() -> None:
    out = _request(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
                    {
                        "type": "file",
                        "file": {
                            "file_data": "data:application/pdf;base64,JVBER",
                            "filename": "a.pdf",
                        },
                    },
                    {"type": "file", "file": {"file_data": "aGVsbG8=", "filename": "notes.txt"}},
                    {"type": "file", "file": {"file_id": "file-1"}},
                ],
            }
        ]
    )
    assert out["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/mp3", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBER"}},
        {"inlineData": {"mimeType": "text/plain", "data": "aGVsbG8="}},
    ]


def test_garbage_never_raises() -> None:
    body: dict[str, Any] = {
        "messages": [
            None,
            {"role": "assistant", "tool_calls": [None, {"function": {"arguments": "[1]"}}]},
            {"role": "user", "content": [None, {"type": "image_url"}]},
        ],
        "tools": [None, {"type": "function"}, {"function": {"name": "f", "parameters": 3}}],
        "stop": 5,
        "response_format": "json",
    }
    out = openai_to_gemini_request(body)
    assert out["tools"] == [{"functionDeclarations": [{"name": "f"}]}]


# -- response and stream -------------------------------------------------------------


def test_response_without_candidates_or_create_time() -> None:
    response, usage = gemini_to_openai_response(
        {"promptFeedback": {"blockReason": "OTHER"}}, "gemini-x"
    )
    assert response["choices"][0]["finish_reason"] == "content_filter"
    assert response["choices"][0]["message"] == {"role": "assistant", "content": None}
    assert isinstance(response["created"], int) and response["created"] > 0
    assert response["model"] == "gemini-x" and not usage.reported


def test_stream_satisfies_the_translator_contract() -> None:
    translator: StreamTranslator = GeminiToOpenAIStream("m", include_usage=False)
    translator.feed(
        {"candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "MAX_TOKENS"}]}
    )
    assert translator.completed
    events = parse_openai(translator.finish())
    assert events[0]["choices"][0]["finish_reason"] == "length"
    assert events[-1] == "[DONE]" and len(events) == 2
    assert translator.feed({"candidates": []}) == b"" and translator.finish() == b""


def test_stream_in_band_error_and_fail() -> None:
    translator = GeminiToOpenAIStream("m", include_usage=True)
    events = parse_openai(
        translator.feed(
            {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
        )
    )
    assert events == [
        {"error": {"message": "quota", "type": "rate_limit_exceeded", "param": None, "code": None}}
    ]
    assert translator.finish() == b""
    other = GeminiToOpenAIStream("m", include_usage=True)
    assert parse_openai(other.fail("timeout", "upstream timed out")) == [
        {"error": {"message": "upstream timed out", "type": "timeout", "param": None, "code": None}}
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(gemini_chunks(), max_size=8), st.sampled_from(["finish", "fail"]), st.booleans())
def test_any_chunk_sequence_gives_a_valid_chunk_stream(
    chunks: list[dict[str, Any]], end: str, include_usage: bool
) -> None:
    translator = GeminiToOpenAIStream("gemini-2.5-pro", include_usage)
    out = b"".join(translator.feed(c) for c in chunks)
    out += translator.finish() if end == "finish" else translator.fail("server_error", "broken")
    message = check_openai_chunks(parse_openai(out))
    if message is not None:
        assert translator.completed
        assert ("usage" in message) == include_usage
        ids = [c["id"] for c in message["tool_calls"]]
        assert len(ids) == len(set(ids))
