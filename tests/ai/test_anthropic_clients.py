"""Anthropic-format clients (the official ``anthropic`` SDK, as Claude Code
speaks) through the real gateway to each seed provider's emulator: text,
streams, tools, thinking, images, Claude-Code-sized requests, token counting,
caching, and the request details each provider needs."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest

from tests.ai.conftest import (
    CLIENT_KEY,
    PROVIDERS,
    SEEDS,
    TAG_HEADER,
    WITH_GEMINI_3,
    WITH_PUBLIC_GEMINI,
    Provider,
    Stack,
)
from tests.ai.expect import (
    OPENAI_COMPATIBLE,
    log_usage,
    native_request,
    raw_events,
    single_upstream,
)
from tests.ai.fixtures import PNG_BASE64, TOOL_NAMES, WEATHER_TOOL, claude_code_sized_request


@pytest.mark.parametrize("key", WITH_PUBLIC_GEMINI)
def test_plain_text(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=512,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": f"Say it: [[reply plain answer from {key}]]"}],
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == f"plain answer from {key}"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    if provider.name in OPENAI_COMPATIBLE:
        system = body["messages"][0]
        assert system["role"] == "system" and "Be brief." in json.dumps(system["content"])
    elif provider.name == "anthropic":
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    else:
        assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    record = fresh.log_record(tag)
    log_usage(record, provider, mode="oneshot", cost=provider.name == "openai")
    assert record["response"]["status"] == 200
    assert record["response"]["headers"]["x-kong-llm-model"] == f"{provider.name}/{provider.model}"


@pytest.mark.parametrize("key", WITH_PUBLIC_GEMINI)
def test_streamed_text(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    with client.messages.stream(
        model=provider.model,
        max_tokens=512,
        messages=[
            {"role": "user", "content": "[[reply one two three four five six]] [[chunks 6]]"}
        ],
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "one two three four five six"
    assert len(pieces) > 1  # incremental, not one buffered block
    assert (
        final.content[0].type == "text" and final.content[0].text == "one two three four five six"
    )
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    native_request(single_upstream(fresh, provider), provider, stream=True)
    log_usage(fresh.log_record(tag), provider, mode="stream", cost=provider.name == "openai")
    events = raw_events(
        client,
        model=provider.model,
        max_tokens=512,
        messages=[{"role": "user", "content": "[[reply one two three four]] [[chunks 4]]"}],
    )
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names.count("content_block_delta") >= 2
    assert events[-2][1]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("key", WITH_GEMINI_3)
def test_tool_round_trip(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    question = {
        "role": "user",
        "content": 'Weather? [[tool get_weather {"city": "Paris", "days": 2}]]',
    }
    with client.messages.stream(
        model=provider.model, max_tokens=512, tools=[WEATHER_TOOL], messages=[question]
    ) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert use.name == "get_weather" and use.input == {"city": "Paris", "days": 2}
    assert use.id
    history = [
        question,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 21 degrees"},
            ],
        },
    ]
    final = client.messages.create(
        model=provider.model, max_tokens=512, tools=[WEATHER_TOOL], messages=history
    )
    assert final.stop_reason == "end_turn"
    assert final.content[-1].type == "text"
    assert "sunny, 21 degrees" in final.content[-1].text
    records = fresh.upstream(provider.path)
    assert len(records) == 2
    native_request(records[0], provider, stream=True)
    body = native_request(records[1], provider, stream=False)
    if provider.name in OPENAI_COMPATIBLE:
        assistant = next(m for m in body["messages"] if m["role"] == "assistant")
        call = assistant["tool_calls"][0]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 2}
        tool_msg = next(m for m in body["messages"] if m["role"] == "tool")
        assert tool_msg["tool_call_id"] == call["id"]
        assert "sunny, 21 degrees" in json.dumps(tool_msg["content"])
        assert body["tools"][0]["function"]["name"] == "get_weather"
    elif provider.name == "anthropic":
        assert body["messages"][2]["content"][0]["tool_use_id"] == use.id
    else:
        parts = [p for c in body["contents"] for p in c["parts"]]
        call_part = next(p for p in parts if "functionCall" in p)
        call = call_part["functionCall"]
        assert call["name"] == "get_weather" and call["args"] == {"city": "Paris", "days": 2}
        if provider.model.startswith("gemini-3"):
            # The signature Gemini 3 issued came back inside the tool_use id, and goes up again.
            assert call_part["thoughtSignature"].startswith("RW11R2VtaW5pU2ln")  # "EmuGeminiSig"
        response = next(p["functionResponse"] for p in parts if "functionResponse" in p)
        assert response["name"] == "get_weather"
        declared = body["tools"][0]["functionDeclarations"][0]
        assert "$schema" not in json.dumps(declared)
        assert "additionalProperties" not in json.dumps(declared)
    records_log = fresh.log_records(tag, 2)
    assert [r["ai"]["proxy"]["meta"]["request_mode"] for r in records_log] == ["stream", "oneshot"]


def _thinking_request(
    client: anthropic.Anthropic, provider: Provider, stream: bool
) -> anthropic.types.Message:
    kwargs: dict[str, Any] = {
        "model": provider.model,
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "[[think]] [[reply thought it through]]"}],
    }
    if stream:
        with client.messages.stream(**kwargs) as s:
            return s.get_final_message()
    return client.messages.create(**kwargs)


#: Providers whose emulated model shows its reasoning for ``[[think]]``. OpenAI's
#: Chat Completions never returns reasoning text (its reasoning models hide it,
#: and gpt-4.1 does not reason).
SHOWS_REASONING = {"hf", "anthropic", "dashscope", "gemini"}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "oneshot"])
@pytest.mark.parametrize("key", SEEDS)
def test_thinking(fresh: Stack, tag: str, key: str, stream: bool) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = _thinking_request(client, provider, stream)
    kinds = [b.type for b in message.content]
    assert kinds[-1] == "text" and message.content[-1].text == "thought it through"
    # DashScope thinks only on streamed calls.
    if key in SHOWS_REASONING and (stream or key != "dashscope"):
        assert kinds == ["thinking", "text"], kinds
        assert "The user wrote" in message.content[0].thinking
    else:
        assert kinds == ["text"]
    body = native_request(single_upstream(fresh, provider), provider, stream=stream)
    if provider.name == "anthropic":
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        # The signed block goes back unchanged: the emulator refuses altered signatures.
        thinking = message.content[0].model_dump()
        again = client.messages.create(
            model=provider.model,
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[
                {"role": "user", "content": "[[think]] first"},
                {"role": "assistant", "content": [thinking, {"type": "text", "text": "ok"}]},
                {"role": "user", "content": "[[reply accepted]]"},
            ],
        )
        assert again.content[-1].text == "accepted"
    elif provider.name == "gemini":
        assert body["generationConfig"]["thinkingConfig"]["includeThoughts"] is True
    elif provider.name == "dashscope":
        # DashScope thinks only on streamed calls, and refuses the flag otherwise.
        assert body["enable_thinking"] is stream
    else:
        assert "reasoning_effort" not in body  # neither gpt-4.1 nor the HF router takes it
    record = fresh.log_records(tag)[0]
    usage = log_usage(record, provider, mode="stream" if stream else "oneshot")["usage"]
    if key in ("gemini", "dashscope") and "thinking" in kinds:
        reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        assert 0 < reasoning < usage["completion_tokens"]


@pytest.mark.parametrize("key", SEEDS)
def test_image(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_BASE64},
                    },
                    {"type": "text", "text": "What is it? [[reply a red square]]"},
                ],
            }
        ],
    )
    assert message.content[0].text == "a red square"
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    if provider.name in OPENAI_COMPATIBLE:
        parts = body["messages"][-1]["content"]
        image = next(p for p in parts if p["type"] == "image_url")
        assert image["image_url"]["url"] == "data:image/png;base64," + PNG_BASE64
    elif provider.name == "anthropic":
        assert body["messages"][0]["content"][0]["source"]["data"] == PNG_BASE64
    else:
        parts = body["contents"][-1]["parts"]
        inline = next(p["inlineData"] for p in parts if "inlineData" in p)
        assert inline == {"mimeType": "image/png", "data": PNG_BASE64}


def _signed_thinking(stack: Stack, tag: str) -> dict[str, Any]:
    """A thinking block the Anthropic emulator signed (replayed in history)."""
    provider = PROVIDERS["anthropic"]
    message = _thinking_request(stack.anthropic("anthropic", tag), provider, stream=False)
    return message.content[0].model_dump()


@pytest.mark.parametrize("key", WITH_GEMINI_3)
def test_claude_code_sized_request_oneshot(fresh: Stack, tag: str, key: str) -> None:
    """Claude Code retries without streaming when a stream breaks."""
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    thinking = _signed_thinking(fresh, tag) if key == "anthropic" else None
    fresh.clear_upstream()
    request = claude_code_sized_request(
        'Once more. [[tool Bash {"string_0": "ls"}]]',
        model=provider.model,
        thinking_block=thinking,
        stream=False,
    )
    message = client.messages.create(**request)
    assert message.stop_reason == "tool_use"
    use = next(b for b in message.content if b.type == "tool_use")
    assert use.name == "Bash" and use.input == {"string_0": "ls"}
    native_request(single_upstream(fresh, provider), provider, stream=False)
    record = fresh.log_records(tag, 2 if key == "anthropic" else 1)[-1]
    log_usage(record, provider, mode="oneshot")


@pytest.mark.parametrize("key", SEEDS)
def test_claude_code_sized_request_streamed(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    thinking = _signed_thinking(fresh, tag) if key == "anthropic" else None
    fresh.clear_upstream()
    request = claude_code_sized_request(
        "Summarise. [[reply the big request arrived whole]] [[chunks 5]]",
        model=provider.model,
        thinking_block=thinking,
    )
    sent_size = len(json.dumps(request))
    assert 85_000 <= sent_size <= 100_000
    request.pop("stream")
    with client.messages.stream(**request) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "the big request arrived whole"
    assert final.stop_reason == "end_turn"
    body = native_request(single_upstream(fresh, provider), provider, stream=True)
    long_system = request["system"][2]["text"]
    if provider.name in OPENAI_COMPATIBLE:
        assert [t["function"]["name"] for t in body["tools"]] == list(TOOL_NAMES)
        system = body["messages"][0]
        assert system["role"] == "system" and long_system in json.dumps(system["content"])
        roles = [m["role"] for m in body["messages"]]
        assert roles.count("tool") == 3
        for i, role in enumerate(roles):
            if role == "tool":  # each result right after the call that asked for it
                assert roles[i - 1] in ("assistant", "tool")
    elif provider.name == "anthropic":
        assert body == {**request, "stream": True}  # byte-faithful passthrough
    else:
        declared = body["tools"][0]["functionDeclarations"]
        assert [d["name"] for d in declared] == list(TOOL_NAMES)
        schemas = json.dumps(declared)
        for unsupported in ("$schema", "additionalProperties", "exclusiveMinimum", "propertyNames"):
            assert f'"{unsupported}"' not in schemas
        assert long_system in json.dumps(body["systemInstruction"])
    record = fresh.log_records(tag, 2 if key == "anthropic" else 1)[-1]
    proxy = log_usage(record, provider, mode="stream")
    assert proxy["usage"]["prompt_tokens"] > 10_000  # the whole request was counted


@pytest.mark.parametrize("key", WITH_PUBLIC_GEMINI)
def test_count_tokens(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    request = claude_code_sized_request("Count me.", model=provider.model)
    response = client.messages.with_raw_response.count_tokens(
        model=provider.model,
        system=request["system"],
        messages=request["messages"][:3],
        tools=request["tools"],
    )
    counted = response.parse()
    assert counted.input_tokens > 5_000
    records = fresh.upstream()
    if provider.name in ("anthropic", "gemini"):
        assert len(records) == 1, [r["path"] for r in records]
        record = records[0]
        suffix = "/count_tokens" if provider.name == "anthropic" else ":countTokens"
        assert record["path"].endswith(suffix), record["path"]
        assert all(CLIENT_KEY not in v for v in record["headers"].values())
        assert response.headers.get("x-lockgate-token-count") != "estimate"
    else:
        assert records == []  # estimated locally: nothing generated upstream
        assert response.headers.get("x-lockgate-token-count") == "estimate"


@pytest.mark.parametrize("key", WITH_GEMINI_3)
def test_parallel_tool_calls_streamed(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    read_tool = {
        "name": "read_file",
        "description": "Reads a file.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
    question = {
        "role": "user",
        "content": '[[tool get_weather {"city": "Oslo"}]] [[tool read_file {"path": "a.txt"}]]',
    }
    events = raw_events(
        client,
        model=provider.model,
        max_tokens=512,
        tools=[WEATHER_TOOL, read_tool],
        messages=[question],
    )
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    uses = [b for b in starts if b["type"] == "tool_use"]
    assert [u["name"] for u in uses] == ["get_weather", "read_file"]
    assert len({u["id"] for u in uses}) == 2
    by_index = {d["index"]: d["content_block"] for n, d in events if n == "content_block_start"}
    args: dict[int, str] = {}
    for name, data in events:
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta":
            args[data["index"]] = args.get(data["index"], "") + data["delta"]["partial_json"]
    inputs = {by_index[i]["name"]: json.loads(raw) for i, raw in args.items() if raw}
    assert inputs == {"get_weather": {"city": "Oslo"}, "read_file": {"path": "a.txt"}}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    blocks = [
        {"type": "tool_use", "id": u["id"], "name": u["name"], "input": inputs[u["name"]]}
        for u in uses
    ]
    final = client.messages.create(
        model=provider.model,
        max_tokens=512,
        tools=[WEATHER_TOOL, read_tool],
        messages=[
            question,
            {"role": "assistant", "content": blocks},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": uses[0]["id"], "content": "rainy"},
                    {"type": "tool_result", "tool_use_id": uses[1]["id"], "content": "hello file"},
                ],
            },
        ],
    )
    assert "rainy" in final.content[-1].text and "hello file" in final.content[-1].text


@pytest.mark.parametrize("key", SEEDS)
def test_stop_sequence(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=256,
        stop_sequences=["HALT"],
        messages=[{"role": "user", "content": "[[reply alpha HALT beta]]"}],
    )
    assert message.content[0].text == "alpha "
    if provider.name == "anthropic":
        assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "HALT")
    else:
        # OpenAI and Gemini do not say that (or which) a stop sequence matched.
        assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    if provider.name in OPENAI_COMPATIBLE:
        assert body["stop"] == ["HALT"]
    elif provider.name == "gemini":
        assert body["generationConfig"]["stopSequences"] == ["HALT"]


@pytest.mark.parametrize("key", SEEDS)
def test_claude_code_max_tokens_accepted(fresh: Stack, tag: str, key: str) -> None:
    """Claude Code asks for 32000 to 64000 output tokens whatever the model."""
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    for stream in (False, True):
        message = client.messages.create(
            model=provider.model,
            max_tokens=32000,
            stream=stream,
            messages=[{"role": "user", "content": "[[reply within limits]]"}],
        )
        if stream:
            text = "".join(
                e.delta.text
                for e in message
                if e.type == "content_block_delta" and e.delta.type == "text_delta"
            )
        else:
            text = message.content[0].text
        assert text == "within limits"


@pytest.mark.parametrize("key", SEEDS)
def test_beta_messages_keep_query_and_betas(fresh: Stack, tag: str, key: str) -> None:
    """Claude Code posts to /v1/messages?beta=true with an anthropic-beta header."""
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=256,
        messages=[{"role": "user", "content": "[[reply beta ok]]"}],
        extra_query={"beta": "true"},
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    assert message.content[0].text == "beta ok"
    record = single_upstream(fresh, provider)
    native_request(record, provider, stream=False)
    if provider.name == "anthropic":
        assert record["headers"]["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    else:
        assert "anthropic-beta" not in record["headers"]
    log = fresh.log_record(tag)
    assert log["request"]["querystring"] == {"beta": "true"}
    if provider.name != "gemini":
        assert log["upstream_uri"].endswith("?beta=true"), log["upstream_uri"]
        assert record["query"] == "beta=true"


@pytest.mark.parametrize("key", SEEDS)
def test_head_probe_and_model_listing(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    head = urllib.request.Request(f"{fresh.gw.proxy_url}/{key}", method="HEAD")
    with urllib.request.urlopen(head, timeout=10) as response:
        assert response.status == 200
    models = client.models.list()
    assert [m.id for m in models.data] == [provider.model]
    assert fresh.upstream() == []  # answered by the gateway


@pytest.mark.parametrize("key", ["hf", "dashscope", "gemini", "openai"])
def test_unknown_fields_and_system_entries_never_break_a_request(
    fresh: Stack, tag: str, key: str
) -> None:
    """New Claude Code fields are dropped for non-Anthropic providers; a system
    entry inside ``messages`` keeps its text."""
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=256,
        messages=[
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "system", "content": "Mid-conversation rule: answer in lowercase."},  # type: ignore[misc,list-item]
            {"role": "user", "content": "[[reply fine]]"},
        ],
        extra_body={
            "future_field": {"kind": "new"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
            "output_config": {"effort": "high"},
        },
    )
    assert message.content[0].text == "fine"
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    dumped = json.dumps(body)
    assert "future_field" not in dumped and "clear_thinking" not in dumped
    assert "Mid-conversation rule: answer in lowercase." in dumped


def test_vertex_token_is_minted_once_and_reused(fresh: Stack, tag: str) -> None:
    provider = PROVIDERS["gemini"]
    client = fresh.anthropic("gemini", tag)
    for _ in range(3):
        client.messages.create(
            model=provider.model, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    records = fresh.upstream()
    tokens = {r["headers"]["authorization"] for r in records if r["provider"] == "gemini"}
    assert len(tokens) == 1
    assert sum(1 for r in records if r["path"] == "/token") <= 1


@pytest.mark.parametrize("key", ["anthropic", "gemini", "dashscope", "hf"])
def test_streamed_thinking_events(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    events = raw_events(
        fresh.anthropic(key, tag),
        model=provider.model,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "[[think]] [[reply done thinking]]"}],
    )
    starts = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert starts == ["thinking", "text"]
    deltas = {d["delta"]["type"] for n, d in events if n == "content_block_delta"}
    assert {"thinking_delta", "text_delta"} <= deltas
    if key == "anthropic":
        assert "signature_delta" in deltas


def test_concurrent_streams_across_providers(fresh: Stack, tag: str) -> None:
    def one(i: int) -> str:
        key = SEEDS[i % len(SEEDS)]
        client = fresh.anthropic(key, tag)
        with client.messages.stream(
            model=PROVIDERS[key].model,
            max_tokens=256,
            messages=[
                {"role": "user", "content": f"[[reply stream {i}]] [[chunks 4]] [[slow 20]]"}
            ],
        ) as stream:
            return "".join(stream.text_stream)

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(20)))
    assert results == [f"stream {i}" for i in range(20)]
    records = fresh.log_records(tag, 20)
    assert all(r["response"]["status"] == 200 for r in records)


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
@pytest.mark.parametrize("key", ["anthropic", "openai", "dashscope", "gemini"])
def test_cached_prompt_tokens_are_reported_and_logged(
    fresh: Stack, tag: str, key: str, stream: bool
) -> None:
    """A repeated long prompt is read from the provider's cache: the client sees
    ``cache_read_input_tokens``; the log counts every input token with the
    cached part in ``prompt_tokens_details``."""
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    thinking = _signed_thinking(fresh, tag) if key == "anthropic" else None
    request = claude_code_sized_request(
        f"[[reply cached {stream}]]", model=provider.model, thinking_block=thinking, stream=False
    )
    request["thinking"] = {"type": "disabled"}
    del request["stream"]
    messages = []
    for _ in range(2):
        if stream:
            with client.messages.stream(**request) as s:
                messages.append(s.get_final_message())
        else:
            messages.append(client.messages.create(**request))
    usage = messages[-1].usage
    assert usage.cache_read_input_tokens and usage.cache_read_input_tokens > 1000
    logged = fresh.log_records(tag, 3 if key == "anthropic" else 2)[-1]["ai"]["proxy"]["usage"]
    total_input = (
        usage.input_tokens
        + usage.cache_read_input_tokens
        + (usage.cache_creation_input_tokens or 0)
    )
    assert logged["prompt_tokens"] == total_input
    assert logged["prompt_tokens_details"]["cached_tokens"] == usage.cache_read_input_tokens
    assert logged["completion_tokens"] == usage.output_tokens


def test_openai_reasoning_model_quirks(fresh: Stack, tag: str) -> None:
    """gpt-5 models take max_completion_tokens, only the default temperature, and
    reasoning_effort for thinking; their reasoning is billed but hidden."""
    provider = PROVIDERS["openai-reasoning"]
    client = fresh.anthropic("openai-reasoning", tag)
    plain = client.messages.create(
        model=provider.model,
        max_tokens=32000,
        extra_body={"temperature": 0.2},
        messages=[{"role": "user", "content": "[[reply terse]]"}],
    )
    assert plain.content[0].text == "terse"
    thought = client.messages.create(
        model=provider.model,
        max_tokens=32000,
        thinking={"type": "enabled", "budget_tokens": 16000},
        messages=[{"role": "user", "content": "[[think]] [[reply pondered]]"}],
    )
    assert [b.type for b in thought.content] == ["text"]  # the reasoning stays hidden
    first, second = (r["body"] for r in fresh.upstream(provider.path))
    assert first["max_completion_tokens"] == 32000
    assert "max_tokens" not in first and "temperature" not in first
    assert "reasoning_effort" not in first
    assert second["reasoning_effort"] in ("low", "medium", "high")
    logged = fresh.log_records(tag, 2)[-1]["ai"]["proxy"]["usage"]
    assert logged["completion_tokens_details"]["reasoning_tokens"] > 0


@pytest.mark.parametrize("key", SEEDS)
def test_forced_tool_choice(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=256,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": '[[tool get_weather {"city": "Rome"}]]'}],
    )
    assert message.stop_reason == "tool_use"
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    if provider.name in OPENAI_COMPATIBLE:
        assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        assert body["parallel_tool_calls"] is False
    elif provider.name == "gemini":
        config = body["toolConfig"]["functionCallingConfig"]
        assert config["mode"] == "ANY" and config["allowedFunctionNames"] == ["get_weather"]
    else:
        assert body["tool_choice"]["name"] == "get_weather"


def test_bearer_client_credential_is_replaced(fresh: Stack, tag: str) -> None:
    """Claude Code may authenticate with ``Authorization: Bearer`` instead of x-api-key."""
    provider = PROVIDERS["anthropic"]
    client = anthropic.Anthropic(
        base_url=f"{fresh.gw.proxy_url}/anthropic",
        auth_token=CLIENT_KEY,
        max_retries=0,
        default_headers={TAG_HEADER: tag},
    )
    message = client.messages.create(
        model=provider.model, max_tokens=64, messages=[{"role": "user", "content": "[[reply ok]]"}]
    )
    assert message.content[0].text == "ok"
    native_request(single_upstream(fresh, provider), provider, stream=False)


_ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "days", "tags"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("key", SEEDS)
def test_structured_output(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    client = fresh.anthropic(key, tag)
    message = client.messages.create(
        model=provider.model,
        max_tokens=512,
        messages=[{"role": "user", "content": "Plan a trip: which city, how many days, tags."}],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": _ANSWER_SCHEMA}}},
    )
    answer = json.loads(message.content[0].text)
    assert set(answer) == {"city", "days", "tags"}
    assert isinstance(answer["city"], str) and isinstance(answer["days"], int)
    assert all(isinstance(t, str) for t in answer["tags"])
    body = native_request(single_upstream(fresh, provider), provider, stream=False)
    if provider.name in OPENAI_COMPATIBLE:
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": _ANSWER_SCHEMA, "strict": True},
        }
    elif provider.name == "gemini":
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        assert body["generationConfig"]["responseSchema"]["required"] == ["city", "days", "tags"]
    else:
        assert body["output_config"]["format"]["schema"] == _ANSWER_SCHEMA
