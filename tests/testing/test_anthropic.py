"""The Anthropic emulator: the official SDK's stream accumulator accepts its
event sequences, Claude Code's request shapes pass, and everything else is
refused with Anthropic's bodies."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import anthropic
import orjson
import pytest

from lockgate.testing import Emulator

from .conftest import ANTHROPIC, Raw, sse_events

MSG = "/v1/messages"
BASH = {
    "name": "Bash",
    "description": "execute shell commands",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
        "required": ["command"],
        "additionalProperties": False,
    },
}
TOOL_PROMPT = (
    'Run this: [[tool Bash {"command":"echo lockgate-e2e-ok","description":"print marker"}]]'
)


def body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def error_of(answer: Any, status: int, kind: str = "invalid_request_error") -> str:
    assert answer.status == status, answer.text
    data = answer.json
    assert (
        data["type"] == "error"
        and data["error"]["type"] == kind
        and data["request_id"].startswith("req_")
    )
    assert answer.headers["request-id"] == data["request_id"]
    return str(data["error"]["message"])


def claude_code_body() -> dict[str, Any]:
    """The shape Claude Code 2.1 sends (fields, blocks, betas), built here."""
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 64000,
        "stream": True,
        "system": [
            {"type": "text", "text": "client-build: v=0.0.0;"},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>\nctx\n</system-reminder>\n\n"},
                {"type": "text", "text": TOOL_PROMPT, "cache_control": {"type": "ephemeral"}},
            ]},
            {"role": "system", "content": "Available agent types: claude, Explore."},
        ],
        "tools": [BASH],
        "tool_choice": {"type": "auto"},
        "metadata": {"user_id": '{"device_id":"abc","session_id":"s"}'},
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stop_sequences": ["\n\nHuman:"],
    }  # fmt: skip


CC_HEADERS = {
    **ANTHROPIC,
    "anthropic-beta": "claude-code-20250219,mid-conversation-system-2026-04-07",
}


async def test_sdk_create_and_usage(claude: anthropic.AsyncAnthropic) -> None:
    msg = await claude.messages.create(**body("hello"))  # type: ignore[arg-type]
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "Hello from the anthropic emulator, model claude-sonnet-4-6."
    assert (
        msg.stop_reason == "end_turn" and msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    )


async def test_sdk_stream_thinking_and_tool_round_trip(claude: anthropic.AsyncAnthropic) -> None:
    first_turn = [{"role": "user", "content": "[[think]] " + TOOL_PROMPT}]
    async with claude.messages.stream(
        model="claude-opus-4-8",
        max_tokens=8000,
        thinking={"type": "adaptive"},
        tools=[BASH],
        messages=first_turn,
    ) as stream:
        msg = await stream.get_final_message()
    thinking, call = msg.content
    assert thinking.type == "thinking" and thinking.signature and "Run this" in thinking.thinking
    assert call.type == "tool_use" and call.name == "Bash"
    assert call.input == {"command": "echo lockgate-e2e-ok", "description": "print marker"}
    assert msg.stop_reason == "tool_use"
    history = [
        *first_turn,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "lockgate-e2e-ok\n"}
            ],
        },
    ]
    async with claude.messages.stream(
        model="claude-opus-4-8",
        max_tokens=8000,
        thinking={"type": "adaptive"},
        tools=[BASH],
        messages=history,
    ) as stream:
        text = await stream.get_final_text()
    assert text == "Tool result: lockgate-e2e-ok"
    tampered = [
        dict(
            history[1],
            content=[{**history[1]["content"][0], "thinking": "changed"}, history[1]["content"][1]],
        )
    ]
    with pytest.raises(anthropic.BadRequestError, match=r"Invalid `signature` in `thinking` block"):
        await claude.messages.create(
            model="claude-opus-4-8",
            max_tokens=8000,
            tools=[BASH],
            messages=[history[0], *tampered, history[2]],
        )


async def test_stream_event_sequence(raw: Raw) -> None:
    b = body("[[think]] [[chunks 3]] " + TOOL_PROMPT, tools=[BASH], stream=True)
    b["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    b["max_tokens"] = 4096
    answer = await raw.post(MSG, b, ANTHROPIC)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = [(name, orjson.loads(data)) for name, data in sse_events(answer.text)]
    assert all(name == data["type"] for name, data in events)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert (
        start["content"] == []
        and start["stop_reason"] is None
        and start["usage"]["input_tokens"] > 0
    )
    assert "ping" in names
    blocks: dict[int, dict[str, Any]] = {}
    for name, data in events:
        if name == "content_block_start":
            assert data["index"] == len(blocks)  # consecutive, never twice
            blocks[data["index"]] = {"start": data["content_block"], "deltas": [], "stopped": False}
        elif name == "content_block_delta":
            blocks[data["index"]]["deltas"].append(data["delta"])
        elif name == "content_block_stop":
            blocks[data["index"]]["stopped"] = True
    assert [b["start"]["type"] for b in blocks.values()] == ["thinking", "tool_use"]
    assert all(b["stopped"] for b in blocks.values())
    kinds = [d["type"] for d in blocks[0]["deltas"]]
    assert kinds[-1] == "signature_delta" and set(kinds[:-1]) == {"thinking_delta"}
    partial = "".join(d["partial_json"] for d in blocks[1]["deltas"])
    assert orjson.loads(partial) == {
        "command": "echo lockgate-e2e-ok",
        "description": "print marker",
    }
    assert len(blocks[1]["deltas"]) > 3
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use" and final["usage"]["output_tokens"] > 0


async def test_claude_code_request_passes_and_caches(raw: Raw) -> None:
    cc = claude_code_body()
    cc["system"][1]["text"] += " Be helpful." * 600  # above the 1024-token cache minimum
    first = await raw.post(MSG + "?beta=true", cc, CC_HEADERS)
    assert first.status == 200, first.text
    start = orjson.loads(sse_events(first.text)[0][1])["message"]["usage"]
    assert start["cache_creation_input_tokens"] > 1024 and start["cache_read_input_tokens"] == 0
    second = await raw.post(MSG + "?beta=true", cc, CC_HEADERS)
    usage = orjson.loads(sse_events(second.text)[0][1])["message"]["usage"]
    assert usage["cache_read_input_tokens"] == start["cache_creation_input_tokens"]
    assert usage["input_tokens"] == start["input_tokens"] and usage["input_tokens"] > 0
    without_beta = await raw.post(MSG, cc, ANTHROPIC)
    assert error_of(without_beta, 400) == "messages.1.role: Input should be 'user' or 'assistant'"


async def test_side_requests_get_sensible_answers(raw: Raw) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"],
              "additionalProperties": False}  # fmt: skip
    title = body(
        "<session>\n" + TOOL_PROMPT + "\n</session>\n\nWrite the title.",
        tools=[],
        output_config={"effort": "high", "format": {"type": "json_schema", "schema": schema}},
    )
    answer = await raw.post(MSG, title, ANTHROPIC)
    assert orjson.loads(answer.json["content"][0]["text"]) == {"title": "Emulated title"}
    quota = await raw.post(MSG, body("quota", max_tokens=1), ANTHROPIC)
    assert quota.json["stop_reason"] == "max_tokens" and quota.json["usage"]["output_tokens"] <= 1
    stop = await raw.post(MSG, body("[[reply one END two]]", stop_sequences=["END"]), ANTHROPIC)
    assert stop.json["stop_reason"] == "stop_sequence" and stop.json["stop_sequence"] == "END"
    assert stop.json["content"][0]["text"] == "one "


async def test_auth_and_version_headers() -> None:
    async with (
        Emulator(keys={"anthropic": {"sk-ant-good"}}) as emu,
        aiohttp.ClientSession() as session,
    ):
        r = Raw(session, emu.url)
        missing = await r.post(MSG, body(), {"anthropic-version": "2023-06-01"})
        assert missing.json["error"] == {
            "type": "authentication_error",
            "message": "x-api-key header is required",
        }
        assert missing.status == 401
        wrong = await r.post(MSG, body(), {"x-api-key": "nope", "anthropic-version": "2023-06-01"})
        assert error_of(wrong, 401, "authentication_error") == "invalid x-api-key"
        bearer = await r.post(
            MSG, body(), {"Authorization": "Bearer sk-ant-good", "anthropic-version": "2023-06-01"}
        )
        assert bearer.status == 200
        no_version = await r.post(MSG, body(), {"x-api-key": "sk-ant-good"})
        assert error_of(no_version, 400) == "anthropic-version: header is required"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"foo": 1}, "foo: Extra inputs are not permitted"),
        ({"messages": []}, "messages: at least one message is required"),
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"model": None}, "model: Field required"),
        (
            {"max_tokens": 70000, "model": "claude-sonnet-4-5-20250929"},
            "max_tokens: 70000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "a", "cache": 1}]}
                ]
            },
            "messages.0.content.0.text.cache: Extra inputs are not permitted",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]},
            "messages: text content blocks must be non-empty",
        ),
        (
            {"messages": [{"role": "user", "content": ""}]},
            "messages.0: all messages must have non-empty content except for the optional final assistant message",
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 500}},
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2000}},
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
            "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
        ),
        (
            {"thinking": {"type": "adaptive"}, "model": "claude-sonnet-4-5-20250929"},
            "thinking.adaptive: adaptive thinking is not supported on claude-sonnet-4-5-20250929",
        ),
        (
            {"thinking": {"type": "adaptive"}, "temperature": 0.5},
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at "
            "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility",
        ),
        (
            {"temperature": 0.5, "top_p": 0.9},
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
        ),
        (
            {"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]},
            "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
        ),
        (
            {"tools": [{"name": "t", "parameters": {}}]},
            "tools.0.custom.parameters: Extra inputs are not permitted",
        ),
        (
            {"metadata": {"user_id": "u", "session": "s"}},
            "metadata.session: Extra inputs are not permitted",
        ),
    ],
)
async def test_body_validation(raw: Raw, change: dict[str, Any], message: str) -> None:
    b = body()
    for key, value in change.items():
        if value is None:
            b.pop(key)
        else:
            b[key] = value
    assert error_of(await raw.post(MSG, b, ANTHROPIC), 400) == message


async def test_tool_pairing_rules(raw: Raw) -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}
    unanswered = body(tools=[BASH])
    unanswered["messages"] += [
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": "next"},
    ]
    assert error_of(await raw.post(MSG, unanswered, ANTHROPIC), 400) == (
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    )
    text_first = body(tools=[BASH])
    text_first["messages"] += [
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [{"type": "text", "text": "note"}, result]},
    ]
    assert "`tool_use` ids were found without `tool_result`" in error_of(
        await raw.post(MSG, text_first, ANTHROPIC), 400
    )
    orphan = body(tools=[BASH])
    orphan["messages"] = [{"role": "user", "content": [result]}]
    assert error_of(await raw.post(MSG, orphan, ANTHROPIC), 400) == (
        "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    )
    fine = body(tools=[BASH])
    fine["messages"] += [
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [result, {"type": "text", "text": "go on"}]},
    ]
    answer = await raw.post(MSG, fine, ANTHROPIC)
    assert answer.status == 200 and answer.json["content"][0]["text"] == "Tool result: ok"


async def test_count_tokens_and_models(raw: Raw, claude: anthropic.AsyncAnthropic) -> None:
    counted = await claude.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
    )
    full = await raw.post(MSG, body("hi"), ANTHROPIC)
    assert counted.input_tokens == full.json["usage"]["input_tokens"] > 0
    with_max = await raw.post("/anthropic/v1/messages/count_tokens", body("hi"), ANTHROPIC)
    assert error_of(with_max, 400) == "max_tokens: Extra inputs are not permitted"
    for path in ("/v1/models", "/anthropic/v1/models"):
        listed = await raw.request("GET", path, headers=ANTHROPIC)
        assert listed.json["data"][0]["type"] == "model" and listed.json["has_more"] is False
    unknown = await raw.post(MSG, {**body(), "model": "gpt-5-mini"}, ANTHROPIC)
    assert error_of(unknown, 404, "not_found_error") == "model: gpt-5-mini"


@pytest.mark.parametrize(
    ("status", "kind"), [(429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error")]
)
async def test_fail_directive(
    raw: Raw, claude: anthropic.AsyncAnthropic, status: int, kind: str
) -> None:
    answer = await raw.post(MSG, body(f"[[fail {status}]]"), ANTHROPIC)
    error_of(answer, status, kind)
    if status == 429:
        assert answer.headers["retry-after"] == "1"
        # The requests limit is the one spent; resets are RFC 3339 timestamps.
        assert answer.headers["anthropic-ratelimit-requests-remaining"] == "0"
        reset = answer.headers["anthropic-ratelimit-requests-reset"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reset)
        for family in ("requests", "tokens", "input-tokens", "output-tokens"):
            for field in ("limit", "remaining", "reset"):
                assert f"anthropic-ratelimit-{family}-{field}" in answer.headers
    else:
        assert "retry-after" not in answer.headers
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude.messages.create(**body(f"[[fail {status}]]"))  # type: ignore[arg-type]
    assert caught.value.status_code == status


async def test_mid_stream_error_and_cut(emulator: Emulator, raw: Raw) -> None:
    answer = await raw.post(MSG, body("[[fail 529 after 2]]", stream=True), ANTHROPIC)
    events = sse_events(answer.text)
    assert [e for e, _ in events] == ["message_start", "content_block_start", "error"]
    assert orjson.loads(events[-1][1])["error"] == {
        "type": "overloaded_error",
        "message": "Overloaded",
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(
            emulator.url + MSG, json=body("[[cut 4]]", stream=True), headers=ANTHROPIC
        ) as resp:
            got = b""
            with pytest.raises(aiohttp.ClientPayloadError):
                async for piece in resp.content.iter_any():
                    got += piece
    assert got.count(b"event: ") == 4 and b"message_stop" not in got


async def test_scoped_faults_name_anthropic_or_its_model(raw: Raw) -> None:
    named = await raw.post(MSG, body("[[fail 529 on anthropic]]"), ANTHROPIC)
    error_of(named, 529, "overloaded_error")
    other = await raw.post(MSG, body("[[fail 529 on openai]] [[reply spared]]"), ANTHROPIC)
    assert other.status == 200 and other.json["content"][0]["text"] == "spared"
    model = body()["model"]
    by_model = await raw.post(MSG, body(f"[[fail 429 on {model}]]"), ANTHROPIC)
    error_of(by_model, 429, "rate_limit_error")
