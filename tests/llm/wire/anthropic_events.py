"""Test helpers: parse SSE bytes, check Anthropic requests and event sequences, replay streams through the SDKs."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2 as httpx
import openai
import orjson

from lockgate.llm.sse import SSEDecoder

__all__ = [
    "assert_anthropic_accepts",
    "parse_sse",
    "replay_anthropic_stream",
    "replay_openai_stream",
    "validate_anthropic_events",
]

Event = tuple[str | None, Any]

_STOP_REASONS = {
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
}
_DELTAS_BY_BLOCK = {
    "text": {"text_delta", "citations_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "redacted_thinking": set(),
    "tool_use": {"input_json_delta"},
}


def parse_sse(raw: bytes) -> list[Event]:
    """SSE bytes -> [(event name, decoded data)]; ``[DONE]`` stays the string ``"[DONE]"``."""
    decoder = SSEDecoder()
    events = decoder.feed(raw) + decoder.close()
    out: list[Event] = []
    for event in events:
        data: Any = event.data if event.data == "[DONE]" else orjson.loads(event.data)
        out.append((event.event, data))
    return out


def validate_anthropic_events(events: list[Event]) -> None:
    """Assert that ``events`` is a valid Anthropic Messages stream.

    ``message_start`` first; blocks started at consecutive indices from 0, each
    once, one at a time, stopped once; deltas only inside the open block and of
    its kind; ``message_delta`` (no block open) then ``message_stop`` last.
    Alternatively the stream ends with an ``error`` event, at any point.
    """
    assert events, "empty stream"
    next_index = 0
    open_block: tuple[int, str] | None = None
    state = "start"  # start -> message -> delta -> stopped
    for position, (name, data) in enumerate(events):
        where = f"event {position} ({name})"
        assert isinstance(data, dict), f"{where}: data is not an object"
        assert name == data.get("type"), f"{where}: event name and data type differ"
        assert state != "stopped", f"{where}: event after the end of the stream"
        if name == "error":
            error = data.get("error")
            assert isinstance(error, dict), f"{where}: error without an error object"
            assert isinstance(error.get("type"), str) and isinstance(error.get("message"), str)
            assert position == len(events) - 1, f"{where}: events after an error"
            state = "stopped"
            continue
        if name == "ping":
            continue
        if state == "start":
            assert name == "message_start", f"{where}: the stream must begin with message_start"
            message = data["message"]
            assert message["type"] == "message" and message["role"] == "assistant"
            assert isinstance(message["id"], str) and message["id"]
            assert isinstance(message["model"], str)
            assert message["content"] == []
            assert isinstance(message["usage"]["input_tokens"], int)
            assert isinstance(message["usage"]["output_tokens"], int)
            state = "message"
            continue
        assert name != "message_start", f"{where}: message_start twice"
        if state == "delta":
            assert name == "message_stop", f"{where}: only message_stop may follow message_delta"
        if name == "content_block_start":
            assert open_block is None, f"{where}: block {open_block} still open"
            assert data["index"] == next_index, f"{where}: index {data['index']} != {next_index}"
            block = data["content_block"]
            kind = block["type"]
            assert kind in _DELTAS_BY_BLOCK, f"{where}: unknown block type {kind}"
            if kind == "tool_use":
                assert isinstance(block["id"], str) and block["id"], f"{where}: tool_use without id"
                assert isinstance(block["name"], str), f"{where}: tool_use without name"
                assert block["input"] == {}, f"{where}: tool_use input must start empty"
            elif kind == "text":
                assert block["text"] == ""
            elif kind == "thinking":
                assert block["thinking"] == "" and "signature" in block
            open_block = (next_index, kind)
            next_index += 1
        elif name == "content_block_delta":
            assert open_block is not None, f"{where}: delta outside a block"
            assert data["index"] == open_block[0], f"{where}: delta for a block that is not open"
            delta_kind = data["delta"]["type"]
            assert delta_kind in _DELTAS_BY_BLOCK[open_block[1]], (
                f"{where}: {delta_kind} inside a {open_block[1]} block"
            )
        elif name == "content_block_stop":
            assert open_block is not None, f"{where}: stop outside a block"
            assert data["index"] == open_block[0], f"{where}: stop for a block that is not open"
            open_block = None
        elif name == "message_delta":
            assert open_block is None, f"{where}: message_delta with block {open_block} open"
            stop_reason = data["delta"]["stop_reason"]
            assert stop_reason in _STOP_REASONS, f"{where}: bad stop_reason {stop_reason}"
            assert isinstance(data["usage"]["output_tokens"], int)
            state = "delta"
        elif name == "message_stop":
            assert state == "delta", f"{where}: message_stop without message_delta"
            state = "stopped"
        else:
            raise AssertionError(f"{where}: unknown event")
    assert state == "stopped", "the stream ends without message_stop or error"


def assert_anthropic_accepts(body: dict[str, Any]) -> None:
    """Anthropic's structural rules for messages (the ones a translation can break)."""
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0
    thinking = body.get("thinking")
    if thinking:
        assert 1024 <= thinking["budget_tokens"] < body["max_tokens"]
        assert "temperature" not in body and "top_k" not in body
        assert body.get("tool_choice", {"type": "auto"})["type"] in ("auto", "none")
    messages = body["messages"]
    pending: list[str] = []
    for i, message in enumerate(messages):
        assert message["role"] in ("user", "assistant")
        if i:
            assert message["role"] != messages[i - 1]["role"], "roles must alternate"
        content = message["content"]
        assert content, "no empty turns"
        for block in content:
            if block["type"] == "text":
                assert block["text"], "no empty text blocks"
        if message["role"] == "user":
            kinds = [b["type"] for b in content]
            results = [b["tool_use_id"] for b in content if b["type"] == "tool_result"]
            assert sorted(results) == sorted(pending), "every tool_use answered, nothing else"
            assert kinds[: len(results)] == ["tool_result"] * len(results), "results first"
            pending = []
        else:
            assert not pending
            pending = [b["id"] for b in content if b["type"] == "tool_use"]
    assert not pending or messages[-1]["role"] == "assistant"


def _mock_client_transport(raw: bytes) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)

    return httpx.Client(transport=httpx.MockTransport(handler))


def replay_anthropic_stream(raw: bytes) -> anthropic.types.Message:
    """Feed translated SSE bytes to the official Anthropic SDK's stream accumulator."""
    with _mock_client_transport(raw) as http:
        client = anthropic.Anthropic(
            api_key="test", base_url="http://upstream.test", http_client=http, max_retries=0
        )
        with client.messages.stream(
            model="m", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                pass
            return stream.get_final_message()


def replay_openai_stream(raw: bytes) -> Any:
    """Feed translated SSE bytes to the official OpenAI SDK's chunk accumulator."""
    with _mock_client_transport(raw) as http:
        client = openai.OpenAI(
            api_key="test", base_url="http://upstream.test/v1", http_client=http, max_retries=0
        )
        with client.chat.completions.stream(
            model="m", messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                pass
            return stream.get_final_completion()
