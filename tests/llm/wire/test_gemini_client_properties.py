"""Property tests of the Gemini client codec: it never raises, what it sends
Anthropic keeps Anthropic's structural rules, and what it sends the client
parses with the official ``google-genai`` SDK's types."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.genai import types
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.ai.fixtures import PNG_BASE64
from tests.llm.wire.anthropic_events import assert_anthropic_accepts, parse_sse

from lockgate.llm.providers import build_provider
from lockgate.llm.providers.config import ModelConfig
from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic_openai import anthropic_to_openai_request
from lockgate.llm.wire.gemini_client import (
    anthropic_to_gemini_response,
    gemini_to_anthropic_request,
    pack_thinking,
)
from lockgate.llm.wire.gemini_client_stream import AnthropicToGeminiStream
from lockgate.testing.emulator.anthropic_validate import sign_thinking, validate_messages
from lockgate.testing.emulator.openai_validate import ChatRules, validate_chat
from lockgate.testing.emulator.responses import ApiError

SECRET = b"emulator-thinking-secret"
ANTHROPIC = build_provider(ModelConfig(provider="anthropic", name="claude-sonnet-4-6"), None)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
names = st.sampled_from(["read", "bash", "edit", "mcp__srv__do-thing"])
ids = st.one_of(st.none(), st.sampled_from(["toolu_1", "toolu_2", "call:x/1", ""]))
signatures = st.one_of(
    st.none(),
    st.sampled_from(["c2ln", "skip_thought_signature_validator", "bGd0aGsxOg==", "bGd0aGsxO!!"]),
    st.builds(
        lambda t, s: pack_thinking([{"type": "thinking", "thinking": t, "signature": s}]),
        st.text(max_size=5),
        st.text(max_size=5),
    ),
)


def _real_bytes(part: dict[str, Any]) -> dict[str, Any]:
    inline = part["inlineData"]
    if inline["mimeType"] == "application/pdf":
        inline["data"] = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
    elif inline["mimeType"] != "image/png":
        inline["data"] = base64.b64encode(b"notes").decode()
    return part


def _with_signature(part: dict[str, Any], signature: str | None) -> dict[str, Any]:
    return {**part, "thoughtSignature": signature} if signature is not None else part


parts = st.one_of(
    st.builds(lambda t: {"text": t}, st.text(max_size=6)),
    st.builds(
        lambda t, s: _with_signature({"text": t, "thought": True}, s),
        st.text(max_size=6),
        signatures,
    ),
    # Attachments as clients send them: real bytes for the type they name.
    st.builds(
        lambda m, d: {"inlineData": {"mimeType": m, "data": d}},
        st.sampled_from(["image/png", "application/pdf", "text/plain", "audio/wav", ""]),
        st.just(PNG_BASE64),
    ).map(_real_bytes),
    st.builds(
        lambda m, u: {"fileData": {"mimeType": m, "fileUri": u}},
        st.sampled_from(["image/jpeg", "application/pdf", "video/mp4"]),
        st.sampled_from(["https://x.test/a.jpg", "gs://b/c.pdf", ""]),
    ),
    st.builds(
        lambda n, i, a, s: _with_signature(
            {
                "functionCall": {
                    k: v for k, v in (("name", n), ("id", i), ("args", a)) if v is not None
                }
            },
            s,
        ),
        names,
        ids,
        st.one_of(json_objects, json_values),
        signatures,
    ),
    st.builds(
        lambda n, i, r: {
            "functionResponse": {
                k: v for k, v in (("name", n), ("id", i), ("response", r)) if v is not None
            }
        },
        names,
        ids,
        st.one_of(json_objects, json_values),
    ),
    json_objects,
)
contents = st.lists(
    st.builds(
        lambda role, ps: {"role": role, "parts": ps},
        st.sampled_from(["user", "model", "function", None]),
        st.lists(parts, max_size=4),
    ),
    max_size=6,
)
declarations = st.builds(
    lambda n, p: {"name": n, "parameters": p},
    names,
    st.one_of(
        json_objects,
        st.just({"type": "OBJECT", "properties": {"a": {"type": "STRING", "nullable": True}}}),
    ),
)
generation_configs = st.fixed_dictionaries(
    {},
    optional={
        "temperature": json_values,
        "topK": json_values,
        "maxOutputTokens": st.one_of(st.integers(-5, 70000), json_values),
        "stopSequences": st.one_of(st.lists(st.text(max_size=3), max_size=3), json_values),
        "responseMimeType": st.sampled_from(["application/json", "text/plain"]),
        "responseSchema": st.one_of(json_objects, st.just({"type": "OBJECT"})),
        "thinkingConfig": st.fixed_dictionaries(
            {},
            optional={
                "includeThoughts": st.booleans(),
                "thinkingBudget": st.integers(-1, 40000),
                "thinkingLevel": st.sampled_from(["LOW", "HIGH", "odd"]),
            },
        ),
    },
)
requests = st.fixed_dictionaries(
    {"contents": contents},
    optional={
        "systemInstruction": st.one_of(
            st.builds(lambda ps: {"parts": ps}, st.lists(parts, max_size=2)), json_values
        ),
        "tools": st.lists(
            st.one_of(
                st.builds(
                    lambda ds: {"functionDeclarations": ds}, st.lists(declarations, max_size=3)
                ),
                json_objects,
            ),
            max_size=2,
        ),
        "toolConfig": st.builds(
            lambda m, a: {"functionCallingConfig": {"mode": m, "allowedFunctionNames": a}},
            st.sampled_from(["AUTO", "ANY", "NONE", "VALIDATED", 7]),
            st.one_of(st.lists(names, max_size=2), json_values),
        ),
        "generationConfig": st.one_of(generation_configs, json_values),
    },
)


def _fail(message: str, param: str | None, code: str | None) -> ApiError:
    return ApiError(400, {"error": {"message": message, "param": param, "code": code}})


@SETTINGS
@given(requests)
def test_decoder_never_raises_and_keeps_anthropics_rules(body: dict[str, Any]) -> None:
    before = orjson.dumps(body)
    out = gemini_to_anthropic_request(body, "claude-sonnet-4-6")
    assert orjson.dumps(body) == before, "the client body is not modified"
    assume(out["messages"])  # a conversation of empty turns is empty on both sides
    assert_anthropic_accepts(out)
    for tool in out.get("tools", []):
        assert tool["input_schema"]["type"] == "object"
    # The Anthropic emulator's validation, on what the gateway sends: the decoded
    # body after the provider's own step (the output limit clamped to the model's),
    # its thinking signatures made to match (those are the upstream's to judge).
    signed = ANTHROPIC.prepare_chat(orjson.loads(orjson.dumps(out)), "claude-sonnet-4-6")
    for message in signed["messages"]:
        for block in message["content"]:
            if block["type"] == "thinking":
                block["signature"] = sign_thinking(SECRET, block["thinking"])
    try:
        validate_messages(signed, set(), SECRET)
    except ApiError as exc:
        raise AssertionError(exc.body) from exc
    # And what an OpenAI-compatible upstream gets from it.
    chat = anthropic_to_openai_request(out, "gpt-4.1")
    validate_chat(ChatRules(), _fail, orjson.loads(orjson.dumps(chat)))


@SETTINGS
@given(
    st.one_of(json_objects, st.builds(lambda c: {"contents": c}, st.lists(json_values, max_size=3)))
)
def test_decoder_never_raises_on_junk(body: dict[str, Any]) -> None:
    orjson.dumps(gemini_to_anthropic_request(body, "m"))


blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=6)),
    st.builds(
        lambda t, s: {"type": "thinking", "thinking": t, "signature": s},
        st.text(max_size=6),
        st.text(max_size=4),
    ),
    st.builds(lambda d: {"type": "redacted_thinking", "data": d}, st.text(max_size=4)),
    st.builds(
        lambda i, n, a: {"type": "tool_use", "id": i, "name": n, "input": a},
        st.sampled_from(["toolu_1", "toolu_2"]),
        names,
        st.one_of(json_objects, json_values),
    ),
    json_objects,
)


@SETTINGS
@given(
    st.lists(blocks, max_size=6),
    st.sampled_from(["end_turn", "tool_use", "max_tokens", "refusal", None, 3]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
def test_responses_parse_with_the_sdk(
    content: list[Any], stop: Any, prompt: int, completion: int
) -> None:
    message = {"id": "msg_1", "model": "claude", "content": content, "stop_reason": stop}
    answer = anthropic_to_gemini_response(message, "m", Usage(prompt, completion))
    types.GenerateContentResponse.model_validate(orjson.loads(orjson.dumps(answer)))


def _block_events(index: int, block: dict[str, Any], cut: int) -> list[dict[str, Any]]:
    kind = block.get("type")
    start: dict[str, Any] = {"type": "content_block_start", "index": index}
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start["content_block"] = {"type": "text", "text": ""}
        text = block["text"]
        deltas = [
            {"type": "text_delta", "text": text[:cut]},
            {"type": "text_delta", "text": text[cut:]},
        ]
    elif kind == "thinking":
        start["content_block"] = {"type": "thinking", "thinking": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": block["signature"]},
        ]
    elif kind == "tool_use":
        start["content_block"] = {
            "type": "tool_use",
            "id": block["id"],
            "name": block["name"],
            "input": {},
        }
        text = orjson.dumps(block["input"]).decode()
        deltas = [
            {"type": "input_json_delta", "partial_json": text[:cut]},
            {"type": "input_json_delta", "partial_json": text[cut:]},
        ]
    else:
        start["content_block"] = block
    return [
        start,
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


@SETTINGS
@given(
    st.lists(blocks, max_size=5),
    st.integers(0, 8),
    st.sampled_from(["end", "cut", "error", "junk"]),
    st.lists(json_objects, max_size=2),
)
def test_streams_never_raise_and_parse_with_the_sdk(
    content: list[Any], cut: int, ending: str, junk: list[dict[str, Any]]
) -> None:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 3}},
        }
    ]
    for i, block in enumerate(content):
        events += _block_events(i, block, cut)
    if ending == "junk":
        events += junk
    if ending != "cut":
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 2},
            }
        )
    if ending == "error":
        events.append({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    events.append({"type": "message_stop"} if ending in ("end", "junk") else {"type": "ping"})
    stream = AnthropicToGeminiStream("m", 4)
    raw = b"".join(stream.feed(e) for e in events) + stream.finish()
    parsed = [data for _, data in parse_sse(raw)]
    assert parsed, "a stream always says something: its end or its error"
    for data in parsed[:-1]:
        types.GenerateContentResponse.model_validate(data)
    last = parsed[-1]
    if ending in ("end", "junk"):
        assert types.GenerateContentResponse.model_validate(last).candidates[0].finish_reason
        assert stream.completed
    else:
        assert set(last) == {"error"} and last["error"]["code"] >= 400
        assert not stream.completed
