"""The DeepSeek emulator: thinking mode's rule that the reasoning of a tool-call
turn comes back with it (docs/failure-modes.md), in DeepSeek's words."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Raw

PATH = "/deepseek/chat/completions"
AUTH = {"Authorization": "Bearer sk-deepseek"}
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
PASS_BACK = "The `reasoning_content` in the thinking mode must be passed back to the API."


def _turn(reasoning: str | None) -> list[dict[str, Any]]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    assistant: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
    if reasoning is not None:
        assistant["reasoning_content"] = reasoning
    return [
        {"role": "user", "content": "Weather?"},
        assistant,
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]


@pytest.mark.parametrize("model", ["deepseek-reasoner", "deepseek-v4-pro"])
async def test_thinking_mode_needs_the_reasoning_back(raw: Raw, model: str) -> None:
    body = {"model": model, "messages": _turn(None), "tools": [WEATHER]}
    answer = await raw.post(PATH, body, AUTH)
    assert answer.status == 400
    assert answer.json["error"] == {
        "message": PASS_BACK,
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_request_error",
    }
    ok = await raw.post(PATH, {**body, "messages": _turn("I should look it up.")}, AUTH)
    assert ok.status == 200, ok.text
    assert ok.json["choices"][0]["message"]["content"] == "Tool result: sunny"


async def test_rule_holds_only_in_thinking_mode_and_only_for_the_current_turn(raw: Raw) -> None:
    chat = {"model": "deepseek-chat", "messages": _turn(None), "tools": [WEATHER]}
    assert (await raw.post(PATH, chat, AUTH)).status == 200
    off = {**chat, "model": "deepseek-v4-flash", "thinking": {"type": "disabled"}}
    assert (await raw.post(PATH, off, AUTH)).status == 200
    earlier = {
        "model": "deepseek-v4-pro",
        "messages": [*_turn(None), {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "Thanks."}],
        "tools": [WEATHER],
    }  # fmt: skip
    assert (await raw.post(PATH, earlier, AUTH)).status == 200


async def test_thinking_answers_carry_reasoning_content(raw: Raw) -> None:
    body = {"model": "deepseek-v4-pro", "messages": [{"role": "user", "content": "[[think]] hi"}]}
    answer = await raw.post(PATH, body, AUTH)
    message = answer.json["choices"][0]["message"]
    assert message["reasoning_content"] and message["content"]
    assert answer.json["usage"]["prompt_cache_hit_tokens"] == 0
