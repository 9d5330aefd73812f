"""The OpenAI emulator: the official SDK accepts its answers and streams, and
it refuses what OpenAI refuses, with OpenAI's status codes and bodies."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import openai
import orjson
import pytest

from lockgate.testing import Emulator

from .conftest import OPENAI, Raw, sse_events

CHAT = "/v1/chat/completions"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def error_of(answer: Any) -> dict[str, Any]:
    body = answer.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


async def test_default_reply_and_usage(oai: openai.AsyncOpenAI) -> None:
    done = await oai.chat.completions.create(model="gpt-4o", messages=user("hi"))
    assert done.choices[0].message.content == "Hello from the openai emulator, model gpt-4o."
    assert done.choices[0].finish_reason == "stop" and done.object == "chat.completion"
    usage = done.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


async def test_reasoning_model_reports_hidden_reasoning(oai: openai.AsyncOpenAI) -> None:
    done = await oai.chat.completions.create(
        model="gpt-5-mini", messages=user("hi"), max_completion_tokens=4000, reasoning_effort="low"
    )
    details = done.usage.completion_tokens_details if done.usage else None
    assert details is not None and details.reasoning_tokens == 64
    assert done.usage is not None and done.usage.completion_tokens > 64
    starved = await oai.chat.completions.create(
        model="gpt-5-mini", messages=user("hi"), max_completion_tokens=1
    )
    assert starved.choices[0].message.content == "" and starved.choices[0].finish_reason == "length"


async def test_parallel_tool_calls_stream_in_fragments(raw: Raw) -> None:
    prompt = 'x [[tool get_weather {"city":"Paris"}]] [[tool get_weather {"city":"Rome"}]]'
    body = {"model": "gpt-4o", "messages": user(prompt), "tools": TOOLS, "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    answer = await raw.post(CHAT, body, OPENAI)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = sse_events(answer.text)
    assert events[-1] == (None, "[DONE]")
    chunks = [orjson.loads(d) for _, d in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[0]["choices"][0]["delta"]["content"] == ""
    assert all("obfuscation" in c for c in chunks[:-1]) and all("usage" in c for c in chunks)
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks[1:-2]:
        (delta,) = c["choices"][0]["delta"]["tool_calls"]
        if "id" in delta:
            assert delta["type"] == "function" and delta["function"]["arguments"] == ""
            calls[delta["index"]] = {
                "id": delta["id"],
                "name": delta["function"]["name"],
                "args": "",
            }
        else:
            assert (
                set(delta) == {"index", "function"}
                and 1 <= len(delta["function"]["arguments"]) <= 7
            )
            calls[delta["index"]]["args"] += delta["function"]["arguments"]
    assert [orjson.loads(calls[i]["args"]) for i in (0, 1)] == [{"city": "Paris"}, {"city": "Rome"}]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_sdk_stream_helper_accumulates(oai: openai.AsyncOpenAI) -> None:
    async with oai.chat.completions.stream(
        model="gpt-4o", messages=user("[[reply hello from a stream]] [[chunks 5]]")
    ) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "hello from a stream"
    async with oai.chat.completions.stream(
        model="gpt-4o", messages=user('[[tool get_weather {"city": "Oslo"}]]'), tools=TOOLS
    ) as stream:
        final = await stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and orjson.loads(call.function.arguments) == {
        "city": "Oslo"
    }


async def test_tool_result_turn_answers_with_the_result(oai: openai.AsyncOpenAI) -> None:
    first = await oai.chat.completions.create(
        model="gpt-4o", messages=user('[[tool get_weather {"city":"Paris"}]]'), tools=TOOLS
    )
    msg = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and msg.content is None
    call = (msg.tool_calls or [])[0]
    history = [
        *user('[[tool get_weather {"city":"Paris"}]]'),
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C\n"},
    ]
    second = await oai.chat.completions.create(model="gpt-4o", messages=history, tools=TOOLS)
    assert second.choices[0].message.content == "Tool result: sunny, 21C"


async def test_missing_tool_is_said(oai: openai.AsyncOpenAI) -> None:
    done = await oai.chat.completions.create(
        model="gpt-4o", messages=user("[[tool Bash {}]]"), tools=TOOLS
    )
    assert done.choices[0].message.content == "The tool Bash is not available in this request."


async def test_structured_outputs(oai: openai.AsyncOpenAI, raw: Raw) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"],
              "additionalProperties": False}  # fmt: skip
    done = await oai.chat.completions.create(
        model="gpt-4o",
        messages=user("title?"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "t", "schema": schema, "strict": True},
        },
    )
    assert orjson.loads(done.choices[0].message.content or "") == {"title": "Emulated title"}
    bad = await raw.post(
        CHAT,
        {"model": "gpt-4o", "messages": user("hi"), "response_format": {"type": "json_object"}},
        OPENAI,
    )
    assert bad.status == 400 and "must contain the word 'json'" in error_of(bad)["message"]


async def test_missing_and_wrong_keys() -> None:
    async with Emulator(keys={"openai": {"sk-good"}}) as emu, aiohttp.ClientSession() as session:
        r = Raw(session, emu.url)
        missing = await r.post(CHAT, {"model": "gpt-4o", "messages": user("hi")})
        assert missing.status == 401
        assert error_of(missing) == {
            "message": "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
            "blank username) if you're accessing the API from your browser and are prompted for a username "
            "and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
        wrong = await r.post(
            CHAT,
            {"model": "gpt-4o", "messages": user("hi")},
            {"Authorization": "Bearer sk-bad-key-123"},
        )
        err = error_of(wrong)
        assert wrong.status == 401 and err["code"] == "invalid_api_key"
        assert (
            err["message"].startswith("Incorrect API key provided: sk-")
            and "sk-bad-key-123" not in err["message"]
        )
        good = await r.post(
            CHAT, {"model": "gpt-4o", "messages": user("hi")}, {"Authorization": "Bearer sk-good"}
        )
        assert good.status == 200


@pytest.mark.parametrize(
    "field", ["thinking", "top_k", "output_config", "system", "stop_sequences"]
)
async def test_unknown_top_level_fields(raw: Raw, field: str) -> None:
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": user("hi"), field: {"x": 1}}, OPENAI
    )
    assert answer.status == 400
    assert error_of(answer) == {
        "message": f"Unrecognized request argument supplied: {field}",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


async def test_content_parts(raw: Raw) -> None:
    part = {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": [{"role": "user", "content": [part]}]}, OPENAI
    )
    assert answer.status == 400 and error_of(answer) == {
        "message": "Unknown parameter: 'messages[0].content[0].cache_control'.",
        "type": "invalid_request_error",
        "param": "messages[0].content[0].cache_control",
        "code": "unknown_parameter",
    }
    doc = {"type": "document", "source": {}}
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": [{"role": "user", "content": [doc]}]}, OPENAI
    )
    err = error_of(answer)
    assert (
        answer.status == 400
        and err["code"] == "invalid_value"
        and err["param"] == "messages[0].content[0].type"
    )
    assert err["message"] == (
        "Invalid value: 'document'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'."
    )
    system_image = [
        {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
        *user("hi"),
    ]
    answer = await raw.post(CHAT, {"model": "gpt-4o", "messages": system_image}, OPENAI)
    # OpenAI's wording (openai/openai-node#1030, OpenHands/OpenHands#7700).
    assert error_of(answer)["message"] == (
        "Invalid 'messages[0]'. Image URLs are only allowed for messages with role 'user', "
        "but this message with role 'system' contains an image URL."
    )
    leaked = [
        *user("hi"),
        {"role": "assistant", "content": "x", "reasoning_content": "y"},
        *user("again"),
    ]
    answer = await raw.post(CHAT, {"model": "gpt-4o", "messages": leaked}, OPENAI)
    assert error_of(answer)["param"] == "messages[1].reasoning_content"


def _call(call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }


async def test_tool_message_sequencing(raw: Raw) -> None:
    orphan = [*user("hi"), {"role": "tool", "tool_call_id": "call_1", "content": "x"}]
    answer = await raw.post(CHAT, {"model": "gpt-4o", "messages": orphan, "tools": TOOLS}, OPENAI)
    assert answer.status == 400 and error_of(answer) == {
        "message": "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
        "with 'tool_calls'.",
        "type": "invalid_request_error",
        "param": "messages.[1].role",
        "code": None,
    }
    unanswered = [
        *user("hi"),
        {"role": "assistant", "content": None, "tool_calls": [_call("call_a"), _call("call_b")]},
        {"role": "tool", "tool_call_id": "call_a", "content": "x"},
        *user("next"),
    ]
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": unanswered, "tools": TOOLS}, OPENAI
    )
    assert answer.status == 400 and error_of(answer) == {
        "message": "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: call_b",
        "type": "invalid_request_error",
        "param": "messages.[3].role",
        "code": None,
    }
    bad_args = [
        *user("hi"),
        {
            "role": "assistant",
            "tool_calls": [{**_call("c"), "function": {"name": "f", "arguments": {}}}],
        },
    ]
    answer = await raw.post(CHAT, {"model": "gpt-4o", "messages": bad_args}, OPENAI)
    assert error_of(answer)["code"] == "invalid_type"


async def test_reasoning_model_rules(raw: Raw) -> None:
    answer = await raw.post(
        CHAT, {"model": "gpt-5-mini", "messages": user("hi"), "max_tokens": 100}, OPENAI
    )
    assert answer.status == 400 and error_of(answer) == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
    answer = await raw.post(
        CHAT, {"model": "o3", "messages": user("hi"), "temperature": 0.7}, OPENAI
    )
    assert answer.status == 400 and error_of(answer) == {
        "message": "Unsupported value: 'temperature' does not support 0.7 with this model. "
        "Only the default (1) value is supported.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_value",
    }
    ok = await raw.post(
        CHAT,
        {"model": "gpt-5", "messages": user("hi"), "temperature": 1, "reasoning_effort": "minimal"},
        OPENAI,
    )
    assert ok.status == 200
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": user("hi"), "reasoning_effort": "low"}, OPENAI
    )
    assert error_of(answer)["message"] == "Unrecognized request argument supplied: reasoning_effort"
    answer = await raw.post(
        CHAT, {"model": "gpt-5", "messages": user("hi"), "reasoning_effort": "extreme"}, OPENAI
    )
    assert error_of(answer)["code"] == "invalid_value"
    assert (
        await raw.post(CHAT, {"model": "gpt-4o", "messages": user("hi"), "max_tokens": 5}, OPENAI)
    ).status == 200


async def test_other_request_errors(raw: Raw) -> None:
    answer = await raw.post(
        CHAT,
        {"model": "gpt-4o", "messages": user("hi"), "stream_options": {"include_usage": True}},
        OPENAI,
    )
    assert error_of(answer) == {
        "message": "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        "type": "invalid_request_error",
        "param": "stream_options",
        "code": None,
    }
    answer = await raw.post(CHAT, {"model": "gpt-4o", "messages": []}, OPENAI)
    assert error_of(answer)["code"] == "empty_array"
    answer = await raw.post(CHAT, {"model": "gpt-4o"}, OPENAI)
    assert error_of(answer)["code"] == "missing_required_parameter"
    answer = await raw.post(CHAT, {"messages": user("hi")}, OPENAI)
    assert error_of(answer)["message"] == "you must provide a model parameter"
    answer = await raw.post(CHAT, {"model": "claude-sonnet-4-5", "messages": user("hi")}, OPENAI)
    assert answer.status == 404 and error_of(answer)["code"] == "model_not_found"
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": user("hi"), "temperature": 3}, OPENAI
    )
    assert error_of(answer)["code"] == "decimal_above_max_value"
    answer = await raw.request("POST", CHAT, data=b"{not json", headers=OPENAI)
    assert answer.status == 400 and "could not parse the JSON body" in error_of(answer)["message"]
    strict = [{"type": "function", "function": {"name": "f", "strict": True,
               "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}]  # fmt: skip
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": user("hi"), "tools": strict}, OPENAI
    )
    assert (
        "'additionalProperties' is required to be supplied and to be false"
        in error_of(answer)["message"]
    )


@pytest.mark.parametrize(
    ("status", "kind", "exc"),
    [
        (429, "requests", openai.RateLimitError),
        (500, "server_error", openai.InternalServerError),
        (503, "server_error", openai.InternalServerError),
    ],
)
async def test_fail_directive(
    raw: Raw, oai: openai.AsyncOpenAI, status: int, kind: str, exc: type[Exception]
) -> None:
    answer = await raw.post(
        CHAT, {"model": "gpt-4o", "messages": user(f"[[fail {status}]]")}, OPENAI
    )
    assert answer.status == status and error_of(answer)["type"] == kind
    if status == 429:
        assert (
            answer.headers["retry-after"] == "1"
            and error_of(answer)["code"] == "rate_limit_exceeded"
        )
        assert answer.headers["x-ratelimit-remaining-requests"] == "0"
        assert answer.headers["x-ratelimit-reset-requests"] == "1s"
    if status in (429, 503):
        assert answer.headers["retry-after"] == "1"
        for field in ("limit", "remaining", "reset"):
            for unit in ("requests", "tokens"):
                assert f"x-ratelimit-{field}-{unit}" in answer.headers
    else:
        assert "retry-after" not in answer.headers
    with pytest.raises(exc):
        await oai.chat.completions.create(model="gpt-4o", messages=user(f"[[fail {status}]]"))


async def test_sleep_slow_chunks(raw: Raw) -> None:
    start = time.monotonic()
    assert (
        await raw.post(CHAT, {"model": "gpt-4o", "messages": user("[[sleep 0.3]]")}, OPENAI)
    ).status == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    body = {"model": "gpt-4o", "messages": user("[[slow 20]] [[chunks 20]]"), "stream": True}
    answer = await raw.post(CHAT, body, OPENAI)
    chunks = [orjson.loads(d) for _, d in sse_events(answer.text)[:-1]]
    content = [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]]
    assert (
        len(content) == 20 and "".join(content) == "Hello from the openai emulator, model gpt-4o."
    )
    assert time.monotonic() - start >= 20 * 0.02


async def test_cut_and_mid_stream_failure(emulator: Emulator, raw: Raw) -> None:
    body = {"model": "gpt-4o", "messages": user("[[cut 3]] [[chunks 10]]"), "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(emulator.url + CHAT, json=body, headers=OPENAI) as resp:
            assert resp.status == 200
            received = b""
            with pytest.raises(aiohttp.ClientPayloadError):
                async for piece in resp.content.iter_any():
                    received += piece
    assert received.count(b"data: ") == 3 and b"[DONE]" not in received
    body = {"model": "gpt-4o", "messages": user("[[fail 500 after 2]]"), "stream": True}
    events = sse_events((await raw.post(CHAT, body, OPENAI)).text)
    assert len(events) == 3 and orjson.loads(events[2][1])["error"]["type"] == "server_error"


async def test_cut_without_stream_drops_the_connection(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        await oai.chat.completions.create(model="gpt-4o", messages=user("[[cut 0]]"))


async def test_embeddings_and_models(oai: openai.AsyncOpenAI, raw: Raw) -> None:
    emb = await oai.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 1536
    assert emb.data[0].embedding != emb.data[1].embedding and emb.usage.prompt_tokens == 2
    small = await oai.embeddings.create(
        model="text-embedding-3-large", input="a", dimensions=8, encoding_format="float"
    )
    assert len(small.data[0].embedding) == 8
    answer = await raw.post(
        "/openai/v1/embeddings",
        {"model": "text-embedding-ada-002", "input": "a", "dimensions": 8},
        OPENAI,
    )
    assert error_of(answer)["message"] == "This model does not support specifying dimensions."
    models = await oai.models.list()
    assert "gpt-5-mini" in [m.id async for m in models]


async def test_openai_prefix_route(raw: Raw) -> None:
    answer = await raw.post(
        "/openai/v1/chat/completions", {"model": "gpt-5-mini", "messages": user("hi")}, OPENAI
    )
    assert answer.status == 200 and answer.json["model"] == "gpt-5-mini"
    assert answer.headers["x-request-id"]
