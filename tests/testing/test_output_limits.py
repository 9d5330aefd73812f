"""Each emulator refuses more output tokens than the model gives, as the real
API does, with the limits of the gateway's table of model facts."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from lockgate.testing import Emulator

from .conftest import ANTHROPIC, OPENAI, Raw

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
PROJECT = "lockgate-test"
VERTEX = f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models"
TOKEN = "ya29.static-test-token"
DASHSCOPE = "/compatible-mode/v1/chat/completions"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize(
    ("model", "param", "asked", "limit"),
    [
        ("gpt-4o", "max_tokens", 64000, 16384),
        ("gpt-4o-mini", "max_tokens", 32000, 16384),
        ("gpt-4.1", "max_tokens", 64000, 32768),
        ("gpt-4o", "max_completion_tokens", 32000, 16384),
        ("o3-mini", "max_completion_tokens", 100001, 100000),
    ],
)
async def test_openai_refuses_too_many_output_tokens(
    raw: Raw, model: str, param: str, asked: int, limit: int
) -> None:
    answer = await raw.post(CHAT, {"model": model, "messages": user("hi"), param: asked}, OPENAI)
    assert answer.status == 400
    assert answer.json == {
        "error": {
            "message": f"{param} is too large: {asked}. This model supports at most {limit} "
            f"completion tokens, whereas you provided {asked}.",
            "type": "invalid_request_error",
            "param": param,
            "code": "invalid_value",
        }
    }
    at_limit = {"model": model, "messages": user("hi"), param: limit}
    assert (await raw.post(CHAT, at_limit, OPENAI)).status == 200


async def test_openai_takes_any_number_for_unknown_models(raw: Raw) -> None:
    body = {"model": "gpt-experimental", "messages": user("hi"), "max_tokens": 10**6}
    assert (await raw.post(CHAT, body, OPENAI)).status == 200


@pytest.mark.parametrize(
    ("model", "asked", "exclusive"),
    [("gemini-2.0-flash", 8193, 8193), ("gemini-2.0-flash-001", 64000, 8193),
     ("gemini-2.5-flash", 65536, 65536), ("gemini-3-pro-preview", 70000, 65536)],
)  # fmt: skip
async def test_vertex_refuses_too_many_output_tokens(
    emulator: Emulator, raw: Raw, model: str, asked: int, exclusive: int
) -> None:
    emulator.state.oauth.issue_static(TOKEN, PROJECT)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": asked},
    }
    answer = await raw.post(f"{VERTEX}/{model}:generateContent", body, auth)
    assert answer.status == 400
    assert answer.json == {
        "error": {
            "code": 400,
            "message": f"Unable to submit request because it has a maxOutputTokens value of "
            f"{asked} but the supported range is from 1 (inclusive) to {exclusive} (exclusive). "
            "Update the value and try again.",
            "status": "INVALID_ARGUMENT",
        }
    }
    body["generationConfig"] = {"maxOutputTokens": exclusive - 1}
    assert (await raw.post(f"{VERTEX}/{model}:generateContent", body, auth)).status == 200


async def test_public_gemini_api_lowers_the_value_itself() -> None:
    async with Emulator(keys={"gemini": {"AIza-good"}}) as emu, aiohttp.ClientSession() as session:
        body = {
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"maxOutputTokens": 64000},
        }
        answer = await Raw(session, emu.url).post(
            "/v1beta/models/gemini-2.0-flash:generateContent", body, {"x-goog-api-key": "AIza-good"}
        )
        assert answer.status == 200


@pytest.mark.parametrize(
    ("model", "limit"),
    [("claude-3-5-haiku-20241022", 8192), ("claude-3-haiku-20240307", 4096),
     ("claude-opus-4-1-20250805", 32000)],
)  # fmt: skip
async def test_anthropic_refuses_too_many_output_tokens(raw: Raw, model: str, limit: int) -> None:
    body = {"model": model, "max_tokens": 64000, "messages": user("hi")}
    answer = await raw.post(MESSAGES, body, ANTHROPIC)
    assert answer.status == 400
    error = answer.json
    assert error["type"] == "error" and error["request_id"].startswith("req_")
    assert error["error"] == {
        "type": "invalid_request_error",
        "message": f"max_tokens: 64000 > {limit}, which is the maximum allowed number of output "
        f"tokens for {model}",
    }
    body["max_tokens"] = limit
    assert (await raw.post(MESSAGES, body, ANTHROPIC)).status == 200


@pytest.mark.parametrize(
    ("model", "extra", "limit"),
    [("qwen-max", {}, 8192), ("qwen-plus", {}, 16384),
     ("qwen-plus", {"stream": True, "enable_thinking": True}, 32768)],
)  # fmt: skip
async def test_dashscope_refuses_too_many_output_tokens(
    raw: Raw, model: str, extra: dict[str, Any], limit: int
) -> None:
    auth = {"Authorization": "Bearer sk-dashscope"}
    body = {"model": model, "messages": user("hi"), "max_tokens": 64000, **extra}
    answer = await raw.post("/dashscope" + DASHSCOPE, body, auth)
    assert answer.status == 400
    assert answer.json["error"] == {
        "message": f"Range of max_tokens should be [1, {limit}]",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "invalid_parameter_error",
    }
    assert set(answer.json) == {"error", "id", "request_id"}
    body["max_tokens"] = limit
    assert (await raw.post("/dashscope" + DASHSCOPE, body, auth)).status == 200


async def test_huggingface_input_and_output_must_fit_the_context(raw: Raw) -> None:
    """vLLM behind the router: input plus max_tokens within the context window."""
    auth = {"Authorization": "Bearer hf-token"}
    body = {"model": "Qwen/Qwen3-32B", "messages": user("x" * 40_000), "max_tokens": 32000}
    answer = await raw.post("/huggingface" + CHAT, body, auth)
    assert answer.status == 400
    error = answer.json["error"]
    prompt = int(error["message"].rsplit("- ", 1)[1].rstrip(")."))
    assert 10_000 < prompt < 10_100
    assert error == {
        "message": f"'max_tokens' or 'max_completion_tokens' is too large: 32000. This model's "
        f"maximum context length is 40960 tokens and your request has {prompt} input tokens "
        f"(32000 > 40960 - {prompt}).",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    body["max_tokens"] = 40960 - prompt
    assert (await raw.post("/huggingface" + CHAT, body, auth)).status == 200
