"""The Mistral emulator: what Mistral's API refuses that OpenAI accepts
(docs/failure-modes.md), in Mistral's own error shapes."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from lockgate.testing import Emulator

from .conftest import Raw, sse_events

PATH = "/mistral/v1/chat/completions"
AUTH = {"Authorization": "Bearer mistral-key"}
MODEL = "mistral-large-latest"
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


def _history(call_id: str) -> list[dict[str, Any]]:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    return [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"stream": True, "stream_options": {"include_usage": True}}, ["body", "stream_options"]),
        ({"max_completion_tokens": 32000}, ["body", "max_completion_tokens"]),
        ({"user": "user_0f6e2b4a1c3d"}, ["body", "user"]),
        ({"seed": 7}, ["body", "seed"]),
    ],
)
async def test_extra_fields_are_422(raw: Raw, extra: dict[str, Any], loc: list[Any]) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **extra}
    answer = await raw.post(PATH, body, AUTH)
    assert answer.status == 422
    error = answer.json
    assert error["object"] == "error" and error["type"] == "invalid_request_error"
    detail = error["message"]["detail"][0]
    assert detail["type"] == "extra_forbidden" and detail["loc"] == loc
    assert detail["msg"] == "Extra inputs are not permitted"


async def test_reasoning_content_in_history_is_422(raw: Raw) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "reasoning_content": "\n"},
        {"role": "user", "content": "again"},
    ]
    answer = await raw.post(PATH, {"model": MODEL, "messages": messages}, AUTH)
    assert answer.status == 422
    assert answer.json["message"]["detail"][0]["loc"] == [
        "body",
        "messages",
        1,
        "assistant",
        "reasoning_content",
    ]


@pytest.mark.parametrize("call_id", ["call_PTLP8xhu3uwZk4l3nlnrrJha", "turn1_0", "abc12345"])
async def test_tool_call_ids_must_be_nine_alphanumerics(raw: Raw, call_id: str) -> None:
    body = {"model": MODEL, "messages": _history(call_id), "tools": [WEATHER]}
    answer = await raw.post(PATH, body, AUTH)
    assert answer.status == 400
    assert answer.json == {
        "object": "error",
        "message": f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9.",
        "type": "invalid_function_call",
        "param": None,
        "code": "3280",
    }
    ok = await raw.post(PATH, {**body, "messages": _history("a1B2c3D4e")}, AUTH)
    assert ok.status == 200, ok.text


async def test_own_ids_and_unasked_usage(emulator: Emulator, raw: Raw) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "[[tool get_weather {}]]"}],
        "tools": [WEATHER],
    }
    done = await raw.post(PATH, body, AUTH)
    call_id = done.json["choices"][0]["message"]["tool_calls"][0]["id"]
    assert len(call_id) == 9 and call_id.isalnum()
    streamed = await raw.post(PATH, {**body, "stream": True}, AUTH)
    chunks = [orjson.loads(d) for _, d in sse_events(streamed.text) if d != "[DONE]"]
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "tool_calls"
    assert last["usage"]["completion_tokens"] > 0
    assert all("usage" not in c for c in chunks[:-1])
    client = openai.AsyncOpenAI(base_url=emulator.url + "/mistral/v1", api_key="k", max_retries=0)
    again = await client.chat.completions.create(
        model=MODEL, messages=_history(call_id), tools=[WEATHER]
    )  # type: ignore[arg-type]
    assert again.choices[0].message.content == "Tool result: sunny"
    await client.close()
