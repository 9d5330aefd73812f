"""Context overflows on the emulators: each provider's real error, for a prompt
longer than the model's window or for the ``[[overflow]]`` directive."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.testing import Emulator

from .conftest import ANTHROPIC, OPENAI, Raw

PROJECT = "lockgate-test"
TOKEN = "ya29.static-test-token"
VERTEX = f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models"
BEARER = {"Authorization": "Bearer sk-test"}


@pytest.fixture(autouse=True)
def static_token(emulator: Emulator) -> None:
    emulator.state.oauth.issue_static(TOKEN, PROJECT)


def _chat(model: str, text: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": text}]}


def _gemini(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


async def test_anthropic(raw: Raw) -> None:
    answer = await raw.post("/v1/messages", _chat("claude-sonnet-4-6", "[[overflow]]"), ANTHROPIC)
    assert answer.status == 400
    error = answer.json["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "prompt is too long: 201000 tokens > 200000 maximum"
    claimed = _chat("claude-sonnet-4-6", "[[overflow 250000]]")
    answer = await raw.post("/v1/messages", claimed, ANTHROPIC)
    assert answer.json["error"]["message"] == "prompt is too long: 250000 tokens > 200000 maximum"


async def test_openai(raw: Raw) -> None:
    answer = await raw.post("/v1/chat/completions", _chat("gpt-4o", "[[overflow]]"), OPENAI)
    assert answer.status == 400
    assert answer.json["error"] == {
        "message": "This model's maximum context length is 128000 tokens. However, your "
        "messages resulted in 129000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }


async def test_gemini_vertex_and_public(raw: Raw) -> None:
    for path, headers in (
        (f"{VERTEX}/gemini-2.0-flash:generateContent", {"Authorization": f"Bearer {TOKEN}"}),
        ("/v1beta/models/gemini-2.0-flash:generateContent", {"x-goog-api-key": "AIza-test"}),
    ):
        answer = await raw.post(path, _gemini("[[overflow 1200293]]"), headers)
        assert answer.status == 400, answer.text
        assert answer.json["error"] == {
            "code": 400,
            "message": "The input token count (1200293) exceeds the maximum number of tokens "
            "allowed (1048576).",
            "status": "INVALID_ARGUMENT",
        }


async def test_dashscope_with_a_prompt_really_too_long(raw: Raw) -> None:
    """qwen-max takes 30720 input tokens; the emulator counts ~4 bytes a token."""
    long_prompt = "word " * 30_000
    answer = await raw.post(
        "/compatible-mode/v1/chat/completions", _chat("qwen-max", long_prompt), BEARER
    )
    assert answer.status == 400
    error = answer.json["error"]
    assert error["code"] == "invalid_parameter_error"
    assert error["message"] == (
        "<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 30720]"
    )
    fits = await raw.post(
        "/compatible-mode/v1/chat/completions", _chat("qwen-max", "word " * 1000), BEARER
    )
    assert fits.status == 200, fits.text


async def test_huggingface_speaks_vllm(raw: Raw) -> None:
    answer = await raw.post(
        "/huggingface/v1/chat/completions",
        _chat("Qwen/Qwen3-32B", "[[overflow 50000]]"),
        BEARER,
    )
    assert answer.status == 400
    assert answer.json == {
        "object": "error",
        "message": "This model's maximum context length is 40960 tokens. However, you requested "
        "50100 tokens (50000 in the messages, 100 in the completion). Please reduce the length "
        "of the messages or completion.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }


async def test_overflow_can_be_scoped(raw: Raw) -> None:
    text = "[[overflow on gemini]] hello"
    answer = await raw.post("/v1/messages", _chat("claude-sonnet-4-6", text), ANTHROPIC)
    assert answer.status == 200, answer.text
    gemini = await raw.post(
        "/v1beta/models/gemini-2.5-flash:generateContent", _gemini(text), {"x-goog-api-key": "k"}
    )
    assert gemini.status == 400
