"""Validators for what the Gemini stream translators emit.

``check_anthropic_events`` states the Anthropic stream contract (SPEC
section 3): ``message_start`` first; content blocks with consecutive indices
from 0, each started once and stopped once, never interleaved; deltas of the
kind the block allows; ``message_delta`` then ``message_stop`` last; or an
``error`` event, which ends the stream wherever it appears.
``check_openai_chunks`` does the same for chat.completion.chunk streams.
``gemini_chunks`` generates the upstream chunks they are checked against.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import strategies as st

from lockgate.llm.sse import SSEDecoder

_DELTAS = {
    "text": {"text_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "redacted_thinking": set(),
    "tool_use": {"input_json_delta"},
}


def parse_anthropic(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    decoder = SSEDecoder()
    events = decoder.feed(raw) + decoder.close()
    out = []
    for event in events:
        assert event.event is not None, f"unnamed event: {event.data!r}"
        data = orjson.loads(event.data)
        assert data.get("type") == event.event, f"event name {event.event} != type {data}"
        out.append((event.event, data))
    return out


def parse_openai(raw: bytes) -> list[Any]:
    decoder = SSEDecoder()
    events = decoder.feed(raw) + decoder.close()
    out: list[Any] = []
    for event in events:
        assert event.event is None, f"named event in an OpenAI stream: {event.event}"
        out.append("[DONE]" if event.data == "[DONE]" else orjson.loads(event.data))
    return out


def check_anthropic_events(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any] | None:
    """Raises AssertionError on a broken sequence. Returns the message the
    events assemble into (None when the stream ended with an error)."""
    assert events, "no events"
    if events[0][0] == "error":
        _check_error(events[0][1])
        assert len(events) == 1, "events after an error"
        return None
    name, first = events[0]
    assert name == "message_start", f"first event is {name}"
    message = dict(first["message"])
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == []
    assert isinstance(message["usage"]["input_tokens"], int)
    assert isinstance(message["usage"]["output_tokens"], int)
    content: list[dict[str, Any]] = []
    open_index: int | None = None
    partial_json = ""
    stage = "blocks"
    for position, (name, data) in enumerate(events[1:], start=1):
        if name == "error":
            _check_error(data)
            assert position == len(events) - 1, "events after an error"
            return None
        if name == "ping":
            continue
        assert stage != "stopped", f"{name} after message_stop"
        if name == "content_block_start":
            assert stage == "blocks", "block after message_delta"
            assert open_index is None, "block started while another is open"
            assert data["index"] == len(content), f"index {data['index']} not {len(content)}"
            block = dict(data["content_block"])
            assert block["type"] in _DELTAS, f"unknown block type {block['type']}"
            if block["type"] == "text":
                assert block["text"] == ""
            if block["type"] == "thinking":
                assert block["thinking"] == ""
            if block["type"] == "tool_use":
                assert block["input"] == {}
                assert isinstance(block["id"], str) and block["id"]
                assert isinstance(block["name"], str)
                partial_json = ""
            content.append(block)
            open_index = data["index"]
        elif name == "content_block_delta":
            assert open_index is not None and data["index"] == open_index, "delta outside its block"
            block = content[open_index]
            delta = data["delta"]
            assert delta["type"] in _DELTAS[block["type"]], (
                f"{delta['type']} in a {block['type']} block"
            )
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            else:
                partial_json += delta["partial_json"]
        elif name == "content_block_stop":
            assert open_index is not None and data["index"] == open_index, "stop of a closed block"
            block = content[open_index]
            if block["type"] == "tool_use":
                block["input"] = orjson.loads(partial_json) if partial_json else {}
                assert isinstance(block["input"], dict)
            open_index = None
        elif name == "message_delta":
            assert stage == "blocks", "second message_delta"
            assert open_index is None, "message_delta with a block open"
            assert data["delta"]["stop_reason"] in (
                "end_turn",
                "max_tokens",
                "stop_sequence",
                "tool_use",
                "pause_turn",
                "refusal",
            )
            assert isinstance(data["usage"]["output_tokens"], int)
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["usage"] = {**message["usage"], **data["usage"]}
            stage = "delta"
        elif name == "message_stop":
            assert stage == "delta", "message_stop without message_delta"
            stage = "stopped"
        else:
            raise AssertionError(f"unknown event {name}")
    assert stage == "stopped", "stream did not end with message_stop"
    message["content"] = content
    return message


def _check_error(data: dict[str, Any]) -> None:
    assert data["type"] == "error"
    assert isinstance(data["error"]["type"], str) and data["error"]["type"]
    assert isinstance(data["error"]["message"], str)


def check_openai_chunks(chunks: list[Any]) -> dict[str, Any] | None:
    """Raises AssertionError on a broken chunk stream. Returns the assembled
    message (None when it ended with an error chunk)."""
    assert chunks, "no chunks"
    message: dict[str, Any] = {"content": "", "reasoning_content": "", "tool_calls": []}
    finish = None
    for position, chunk in enumerate(chunks):
        if chunk == "[DONE]":
            assert position == len(chunks) - 1, "chunks after [DONE]"
            assert finish is not None, "[DONE] without a finish_reason"
            message["finish_reason"] = finish
            return message
        if "error" in chunk:
            assert position == len(chunks) - 1, "chunks after an error"
            assert isinstance(chunk["error"]["message"], str)
            return None
        assert chunk["object"] == "chat.completion.chunk"
        if not chunk["choices"]:
            assert "usage" in chunk and finish is not None, "usage chunk before the finish"
            message["usage"] = chunk["usage"]
            continue
        assert finish is None, "content after the finish_reason"
        (choice,) = chunk["choices"]
        delta = choice["delta"]
        if position == 0:
            assert delta.get("role") == "assistant", "first chunk without the role"
        message["content"] += delta.get("content") or ""
        message["reasoning_content"] += delta.get("reasoning_content") or ""
        for call in delta.get("tool_calls") or []:
            assert call["index"] == len(message["tool_calls"]), "tool call index not consecutive"
            orjson.loads(call["function"]["arguments"])
            message["tool_calls"].append(call)
        finish = choice["finish_reason"]
    raise AssertionError("stream did not end with [DONE]")


# -- upstream chunks for property tests -----------------------------------------


def gemini_chunks() -> st.SearchStrategy[dict[str, Any]]:
    """One GenerateContentResponse chunk: the usual parts plus what a
    translator must survive (empty or broken parts, missing content, odd
    finish reasons, a blocked prompt, an in-band error)."""
    text = st.text(max_size=8)
    sig = st.sampled_from(["c2ln", "Zm4=", "a+b/c==", ""])
    # Chunks reach translators decoded by orjson, whose integers fit in 64 bits.
    number = st.integers(-(2**63), 2**63 - 1)
    args = st.dictionaries(
        st.sampled_from(["a", "b"]), st.one_of(number, text, st.none()), max_size=2
    )
    name = st.sampled_from(["A", "B"])
    part = st.one_of(
        st.builds(lambda t: {"text": t}, text),
        st.builds(lambda t: {"text": t, "thought": True}, text),
        st.builds(lambda t, s: {"text": t, "thought": True, "thoughtSignature": s}, text, sig),
        st.builds(lambda s: {"text": "", "thoughtSignature": s}, sig),
        st.builds(lambda n, a: {"functionCall": {"name": n, "args": a}}, name, args),
        st.builds(
            lambda a, s: {"functionCall": {"name": "A", "args": a}, "thoughtSignature": s},
            args,
            sig,
        ),
        st.just({"inlineData": {"mimeType": "image/png", "data": "AA=="}}),
        st.just({"functionCall": "broken"}),
        st.just({}),
    )
    usage = st.fixed_dictionaries(
        {},
        optional={
            "promptTokenCount": st.integers(0, 10**6),
            "candidatesTokenCount": st.integers(0, 1000),
            "thoughtsTokenCount": st.integers(0, 1000),
            "cachedContentTokenCount": st.integers(0, 10**6),
        },
    )
    content = st.one_of(
        st.fixed_dictionaries({"role": st.just("model"), "parts": st.lists(part, max_size=4)}),
        st.just({}),
        st.none(),
    )
    finish = st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "MALFORMED_FUNCTION_CALL", "", None])
    candidate = st.fixed_dictionaries({}, optional={"content": content, "finishReason": finish})
    return st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "candidates": st.one_of(st.lists(candidate, max_size=2), st.just("x")),
                "usageMetadata": st.one_of(usage, st.just("x")),
                "modelVersion": st.sampled_from(["gemini-2.5-pro", ""]),
                "responseId": st.sampled_from(["r1", "r2"]),
                "promptFeedback": st.sampled_from([{"blockReason": "SAFETY"}, {}]),
            },
        ),
        st.just({"error": {"code": 503, "message": "Overloaded.", "status": "UNAVAILABLE"}}),
    )
