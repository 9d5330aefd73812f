"""Gemini 3's thought signatures survive an agent's multi-step tool turn
through the real gateway, with the official Anthropic SDK (Claude Code's
wire format) and the official OpenAI SDK.

The emulated ``gemini-3-pro-preview`` calls one tool per step (``[[chain]]``),
signs each step's first call, and refuses a request whose earlier steps come
back without their signatures, as Gemini 3 does. The clients resend the
history exactly as they received it; the gateway carries each signature in
the tool call id it mints and puts it back on the function call.
"""

from __future__ import annotations

from typing import Any

from tests.ai.conftest import PROVIDERS, Stack
from tests.ai.expect import native_request
from tests.ai.fixtures import WEATHER_TOOL

PROVIDER = PROVIDERS["gemini3"]
TIME_TOOL = {
    "name": "get_time",
    "description": "The local time in a zone.",
    "input_schema": {
        "type": "object",
        "properties": {"zone": {"type": "string"}},
        "required": ["zone"],
        "additionalProperties": False,
    },
}
PROMPT = '[[chain]] [[tool get_weather {"city": "Oslo"}]] [[tool get_time {"zone": "CET"}]]'
#: base64 of the emulator's signature prefix ("EmuGeminiSig").
SIGNED = "RW11R2VtaW5pU2ln"


def _signatures_sent(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(function name, signature) of the first call of each model turn."""
    out = []
    for content in body["contents"]:
        calls = [p for p in content["parts"] if "functionCall" in p]
        if content["role"] == "model" and calls:
            out.append((calls[0]["functionCall"]["name"], calls[0].get("thoughtSignature", "")))
    return out


def _check_upstream(stack: Stack) -> None:
    records = stack.upstream(PROVIDER.path)
    assert len(records) == 3
    last = native_request(records[2], PROVIDER, stream=":stream" in records[2]["path"])
    sent = _signatures_sent(last)
    assert [name for name, _ in sent] == ["get_weather", "get_time"]
    assert all(sig.startswith(SIGNED) for _, sig in sent), sent
    # The two steps' signatures are the ones Gemini issued for them, not one reused.
    assert sent[0][1] != sent[1][1]


def test_anthropic_client_multi_step_turn(fresh: Stack, tag: str) -> None:
    client = fresh.anthropic("gemini3", tag)
    tools = [WEATHER_TOOL, TIME_TOOL]
    history: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    expected = [("get_weather", "sunny"), ("get_time", "noon")]
    for step, (name, result) in enumerate(expected):
        if step == 0:
            with client.messages.stream(
                model=PROVIDER.model, max_tokens=512, tools=tools, messages=history
            ) as stream:
                message = stream.get_final_message()
        else:
            message = client.messages.create(
                model=PROVIDER.model, max_tokens=512, tools=tools, messages=history
            )
        assert message.stop_reason == "tool_use"
        [use] = [b for b in message.content if b.type == "tool_use"]
        assert use.name == name
        # Claude Code sends its history back exactly as received.
        history.append(
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in message.content],
            }
        )
        history.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result}]}
        )  # fmt: skip
    with client.messages.stream(
        model=PROVIDER.model, max_tokens=512, tools=tools, messages=history
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    assert final.content[-1].type == "text" and "noon" in final.content[-1].text
    _check_upstream(fresh)


def test_openai_client_multi_step_turn(fresh: Stack, tag: str) -> None:
    client = fresh.openai("oai-gemini3", tag)
    tools = [
        {
            "type": "function",
            "function": {"name": t["name"], "parameters": t["input_schema"]},
        }
        for t in (WEATHER_TOOL, TIME_TOOL)
    ]
    messages: list[Any] = [{"role": "user", "content": PROMPT}]
    for name, result in (("get_weather", "sunny"), ("get_time", "noon")):
        completion = client.chat.completions.create(
            model=PROVIDER.model,
            messages=messages,
            tools=tools,  # type: ignore[arg-type]
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls or []
        assert call.function.name == name  # type: ignore[union-attr]
        messages.append(choice.message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    stream = client.chat.completions.create(
        model=PROVIDER.model,
        messages=messages,
        tools=tools,  # type: ignore[arg-type]
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "noon" in text
    _check_upstream(fresh)
