"""The OpenAI-compatible emulators: HuggingFace router and DashScope."""

from __future__ import annotations

from typing import Any

import aiohttp
import openai
import orjson
import pytest

from lockgate.testing import Emulator

from .conftest import Raw, sse_events

HF = "/huggingface/v1/chat/completions"
DS = "/compatible-mode/v1/chat/completions"
DS_PREFIXED = "/dashscope/compatible-mode/v1/chat/completions"
LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
HF_AUTH = {"Authorization": "Bearer hf_test"}
DS_AUTH = {"Authorization": "Bearer sk-ds"}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def test_huggingface_with_the_sdk(emulator: Emulator) -> None:
    client = openai.AsyncOpenAI(
        base_url=emulator.url + "/huggingface/v1", api_key="hf_test", max_retries=0
    )
    done = await client.chat.completions.create(model=LLAMA, messages=user("hi"))
    assert done.model == LLAMA
    assert done.choices[0].message.content == f"Hello from the huggingface emulator, model {LLAMA}."
    async with client.chat.completions.stream(
        model=LLAMA, messages=user("[[reply streamed]]")
    ) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "streamed"
    await client.close()


async def test_huggingface_rules(raw: Raw) -> None:
    answer = await raw.post(
        HF, {"model": LLAMA, "messages": user("hi"), "reasoning_effort": "low"}, HF_AUTH
    )
    assert answer.status == 400 and answer.json["error"]["code"] == "unsupported_parameter"
    answer = await raw.post(HF, {"model": "claude-sonnet-4-5", "messages": user("hi")}, HF_AUTH)
    assert answer.status == 400 and answer.json["error"]["message"] == (
        "The requested model 'claude-sonnet-4-5' is not supported by any provider you have enabled."
    )
    answer = await raw.post(HF, {"model": LLAMA, "messages": user("hi"), "thinking": {}}, HF_AUTH)
    assert answer.json["error"]["message"] == "Unrecognized request argument supplied: thinking"
    answer = await raw.post(HF, {"model": LLAMA, "messages": user("hi")})
    assert answer.status == 401 and answer.json == {
        "error": "Invalid credentials in Authorization header"
    }
    ok = await raw.post(
        HF,
        {"model": f"{LLAMA}:together", "messages": user("hi"), "max_completion_tokens": 20},
        HF_AUTH,
    )
    assert ok.status == 200 and ok.json["model"] == f"{LLAMA}:together"
    assert set(ok.json["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


async def test_huggingface_reasoning_content(raw: Raw) -> None:
    body = {"model": "deepseek-ai/DeepSeek-R1", "messages": user("[[think]] why"), "stream": True}
    events = sse_events((await raw.post(HF, body, HF_AUTH)).text)
    deltas = [orjson.loads(d)["choices"][0]["delta"] for _, d in events[:-1]]
    assert any("reasoning_content" in d for d in deltas)
    assert "".join(d.get("content") or "" for d in deltas).startswith(
        "Hello from the huggingface emulator"
    )


async def test_dashscope_answers(raw: Raw) -> None:
    for path in (DS, DS_PREFIXED):
        answer = await raw.post(
            path, {"model": "qwen-plus", "messages": user("hi"), "max_tokens": 8192}, DS_AUTH
        )
        assert answer.status == 200 and answer.headers["x-dashscope-call-gateway"] == "true"
        assert (
            answer.json["choices"][0]["message"]["content"]
            == "Hello from the dashscope emulator, model qwen-plus."
        )
        assert "cached_tokens" in answer.json["usage"]["prompt_tokens_details"]
    body = {"model": "qwen-plus", "messages": user("[[think]] hm"), "stream": True, "enable_thinking": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    events = sse_events((await raw.post(DS, body, DS_AUTH)).text)
    chunks = [orjson.loads(d) for _, d in events[:-1]]
    assert any("reasoning_content" in c["choices"][0]["delta"] for c in chunks if c["choices"])
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def ds_error(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status == status, answer.text
    body = answer.json
    assert set(body) == {"error", "id", "request_id"} and set(body["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }
    assert answer.headers["x-dashscope-call-gateway"] == "true"
    return body["error"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"model": "qwen-plus", "messages": user("hi"), "enable_thinking": True},
            400,
            "parameter.enable_thinking must be set to false for non-streaming calls",
        ),
        (
            {"model": "qwen3-32b", "messages": user("hi")},
            400,
            "parameter.enable_thinking must be set to false for non-streaming calls",
        ),
        (
            {"model": "qwen-plus", "messages": user("hi"), "max_tokens": 64000},
            400,
            "Range of max_tokens should be [1, 16384]",
        ),
        (
            {"model": "qwen-plus", "messages": user("hi"), "reasoning_effort": "low"},
            400,
            "Unrecognized request argument supplied: reasoning_effort",
        ),
        (
            {"model": "gpt-4o", "messages": user("hi")},
            404,
            "The model `gpt-4o` does not exist or you do not have access to it.",
        ),
        (
            {
                "model": "qwen-plus",
                "messages": [*user("hi"), {"role": "tool", "tool_call_id": "x", "content": "r"}],
            },
            400,
            "<400> InternalError.Algo.InvalidParameter: Invalid parameter: messages with role 'tool' must be a response "
            "to a preceeding message with 'tool_calls'.",
        ),
    ],
)
async def test_dashscope_rejections(
    raw: Raw, body: dict[str, Any], status: int, message: str
) -> None:
    assert ds_error(await raw.post(DS, body, DS_AUTH), status)["message"] == message


async def test_dashscope_keys_and_failures() -> None:
    async with Emulator(keys={"dashscope": {"sk-good"}}) as emu, aiohttp.ClientSession() as session:
        r = Raw(session, emu.url)
        body = {"model": "qwen-plus", "messages": user("hi")}
        assert ds_error(await r.post(DS, body), 401)["code"] == "invalid_api_key"
        wrong = ds_error(await r.post(DS, body, {"Authorization": "Bearer sk-bad"}), 401)
        assert wrong["message"].startswith("Incorrect API key provided.")
        limited = await r.post(
            DS,
            {"model": "qwen-plus", "messages": user("[[fail 429]]")},
            {"Authorization": "Bearer sk-good"},
        )
        assert (
            ds_error(limited, 429)["code"] == "limit_requests"
            and limited.headers["retry-after"] == "1"
        )


async def test_faults_scoped_by_provider_or_model(raw: Raw) -> None:
    """One prompt, several emulators: only the one named fails."""
    prompt = user("[[fail 429 on dashscope]] [[fail 500 on gpt-4o-mini]] [[reply fine]]")
    ds = await raw.post(DS, {"model": "qwen-plus", "messages": prompt}, DS_AUTH)
    assert ds.status == 429
    hf = await raw.post(HF, {"model": LLAMA, "messages": prompt}, HF_AUTH)
    assert hf.status == 200 and hf.json["choices"][0]["message"]["content"] == "fine"
    auth = {"Authorization": "Bearer sk-test"}
    mini = await raw.post(
        "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": prompt}, auth
    )
    assert mini.status == 500
    full = await raw.post("/v1/chat/completions", {"model": "gpt-4o", "messages": prompt}, auth)
    assert full.status == 200 and full.json["choices"][0]["message"]["content"] == "fine"
