"""Streams for Gemini-format clients: Anthropic stream events -> Gemini
``streamGenerateContent`` chunks, a usage observer for passthrough Gemini
streams, and the JSON-array framing Google uses without ``alt=sse``.

The stream encoder (:class:`AnthropicToGeminiStream`) is fed the
conversation model's events (docs/translation.md): an Anthropic upstream's
as they come, Bedrock's through ``bedrock_stream.ConverseEvents``, an
OpenAI-compatible upstream's through ``OpenAIToAnthropicStream``
(:class:`OpenAIToGeminiStream`). Text and thinking deltas go out as they
arrive, one chunk each; a function call goes out whole when its block
closes (Gemini sends calls whole, and clients read ``args`` as an object);
the last chunk carries ``finishReason`` and ``usageMetadata``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from lockgate.llm.sse import SSEDecoder, encode_data
from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import AnthropicStreamObserver
from lockgate.llm.wire.gemini import gemini_error_body, gemini_status, usage_from_gemini
from lockgate.llm.wire.gemini_client import finish_reason, gemini_usage_metadata, pack_thinking

__all__ = [
    "AnthropicToGeminiStream",
    "ConverseToGeminiStream",
    "GeminiStreamObserver",
    "OpenAIToGeminiStream",
    "gemini_stream_error",
    "json_array_stream",
]

_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "overloaded_error": 503,
    "timeout_error": 504,
}


def gemini_stream_error(error_type: str, message: str) -> bytes:
    """An in-stream error chunk, as Google ends a broken stream."""
    code = _STATUS_BY_TYPE.get(error_type, 500)
    return encode_data(gemini_error_body(code, message, gemini_status(code)))


class AnthropicToGeminiStream:
    """Anthropic stream-event dicts -> Gemini SSE chunks (a StreamTranslator)."""

    __slots__ = (
        "_blocks",
        "_done",
        "_model",
        "_observer",
        "_response_id",
        "_stop",
        "_thinking",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(self, model: str, input_tokens_estimate: int = 0) -> None:
        self._model = model
        self._observer = AnthropicStreamObserver(input_tokens_estimate)
        self.usage: Usage = self._observer.usage
        self.response_model: str | None = None
        self.completed = False
        self._done = False
        self._response_id: str | None = None
        self._stop: Any = None
        #: Open blocks by index: the block so far (tool input as JSON text fragments).
        self._blocks: dict[int, dict[str, Any]] = {}
        #: Closed thinking blocks waiting for the next part to carry them.
        self._thinking: list[dict[str, Any]] = []

    def _chunk(self, parts: list[dict[str, Any]], last: bool = False) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        out: dict[str, Any] = {"candidates": [candidate]}
        if last:
            candidate["finishReason"] = finish_reason(self._stop)
            out["usageMetadata"] = gemini_usage_metadata(self.usage)
        out["modelVersion"] = self.response_model or self._model
        if self._response_id:
            out["responseId"] = self._response_id
        return encode_data(out)

    def _part(self, part: dict[str, Any]) -> bytes:
        # Thinking rides on the next function call, which clients keep whole.
        if self._thinking and "functionCall" in part:
            part["thoughtSignature"] = pack_thinking(self._thinking)
            self._thinking = []
        return self._chunk([part])

    def feed(self, data: dict[str, Any]) -> bytes:
        if self._done:
            return b""
        self._observer.feed(data)
        self.usage = self._observer.usage
        kind = data.get("type")
        index = data.get("index")
        if kind == "content_block_delta" and isinstance(index, int):
            return self._delta(index, data.get("delta"))
        if kind == "content_block_start" and isinstance(index, int):
            block = data.get("content_block")
            if not isinstance(block, dict):
                return b""
            block = dict(block)
            if block.get("type") == "tool_use":
                given = block.get("input")
                block["json"] = [orjson.dumps(given).decode()] if given else []
            elif block.get("type") == "text" and block.get("text"):
                self._blocks[index] = block
                return self._part({"text": block["text"]})
            elif block.get("type") == "thinking":
                text = block.get("thinking")
                block["thinking"] = text if isinstance(text, str) else ""
            self._blocks[index] = block
            return b""
        if kind == "content_block_stop" and isinstance(index, int):
            return self._close(self._blocks.pop(index, None))
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                if isinstance(message.get("id"), str):
                    self._response_id = message["id"]
                if isinstance(message.get("model"), str) and message["model"]:
                    self.response_model = message["model"]
            return b""
        if kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") is not None:
                self._stop = delta["stop_reason"]
            return b""
        if kind == "message_stop":
            out = b"".join(self._close(b) for b in list(self._blocks.values()))
            self._blocks = {}
            parts: list[dict[str, Any]] = [{"text": ""}]
            if self._thinking:
                parts = [
                    {"text": "", "thought": True, "thoughtSignature": pack_thinking(self._thinking)}
                ]
                self._thinking = []
            self.completed = True
            self._done = True
            return out + self._chunk(parts, last=True)
        if kind == "error":
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            return self.fail(
                str(error.get("type") or "api_error"),
                str(error.get("message") or "the upstream reported an error mid-stream"),
            )
        return b""

    def _delta(self, index: int, delta: Any) -> bytes:
        block = self._blocks.get(index)
        if block is None or not isinstance(delta, dict):
            return b""
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
            return self._part({"text": delta["text"]})
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            block["thinking"] += delta["thinking"]
            if delta["thinking"]:
                return self._chunk([{"text": delta["thinking"], "thought": True}])
        elif kind == "signature_delta" and isinstance(delta.get("signature"), str):
            block["signature"] = delta["signature"]
        elif kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            block.setdefault("json", []).append(delta["partial_json"])
        return b""

    def _close(self, block: dict[str, Any] | None) -> bytes:
        if block is None:
            return b""
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            self._thinking.append(block)
            return b""
        if kind != "tool_use":
            return b""
        text = "".join(block.get("json") or ())
        try:
            args = orjson.loads(text) if text.strip() else {}
        except orjson.JSONDecodeError:
            args = {}
        call: dict[str, Any] = {
            "name": str(block.get("name") or ""),
            "args": args if isinstance(args, dict) else {},
        }
        if isinstance(block.get("id"), str) and block["id"]:
            call["id"] = block["id"]
        return self._part({"functionCall": call})

    def finish(self) -> bytes:
        if self._done:
            return b""
        return self.fail("api_error", "the upstream stream ended prematurely")

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        self._done = True
        self._observer.finish()
        self.usage = self._observer.usage
        return gemini_stream_error(error_type, message)


class OpenAIToGeminiStream:
    """Chat Completions chunks -> Gemini chunks, through the Anthropic events
    of ``OpenAIToAnthropicStream``'s events layer."""

    __slots__ = ("_inner", "_outer", "completed", "response_model", "usage")

    def __init__(self, inner: Any, model: str, input_tokens_estimate: int) -> None:
        self._inner = inner
        self._outer = AnthropicToGeminiStream(model, input_tokens_estimate)
        self._sync()

    def _sync(self) -> None:
        # The OpenAI side knows the usage the upstream reported.
        self.usage = self._inner.usage
        self.response_model = self._inner.response_model
        self.completed = self._outer.completed

    def _encode(self, events: list[dict[str, Any]]) -> bytes:
        out = b"".join([self._outer.feed(e) for e in events])
        self._sync()
        return out

    def feed(self, data: dict[str, Any]) -> bytes:
        return self._encode(self._inner.events(data))

    def finish(self) -> bytes:
        out = self._encode(self._inner.finish_events()) + self._outer.finish()
        self._sync()
        return out

    def fail(self, error_type: str, message: str) -> bytes:
        self._inner.fail_events(error_type, message)
        out = self._outer.fail(error_type, message)
        self._sync()
        return out


class ConverseToGeminiStream:
    """Bedrock ConverseStream events -> Gemini chunks."""

    __slots__ = ("_events", "_outer", "completed", "response_model", "usage")

    def __init__(self, model: str, input_tokens_estimate: int) -> None:
        from lockgate.llm.wire.bedrock_stream import ConverseEvents

        self._events = ConverseEvents(model, input_tokens_estimate)
        self._outer = AnthropicToGeminiStream(model, input_tokens_estimate)
        self._sync()

    def _sync(self) -> None:
        self.usage = self._outer.usage
        self.response_model = self._outer.response_model
        self.completed = self._outer.completed

    def _encode(self, events: list[dict[str, Any]]) -> bytes:
        out = b"".join(self._outer.feed(e) for e in events)
        self._sync()
        return out

    def feed(self, data: dict[str, Any]) -> bytes:
        from lockgate.llm.wire.bedrock_stream import StreamException

        try:
            return self._encode(self._events.feed(data))
        except StreamException as exc:
            return self.fail(exc.kind, exc.message)

    def finish(self) -> bytes:
        out = self._encode(self._events.finish()) + self._outer.finish()
        self._sync()
        return out

    def fail(self, error_type: str, message: str) -> bytes:
        out = self._outer.fail(error_type, message)
        self._sync()
        return out


class GeminiStreamObserver:
    """Watches a passthrough Gemini stream for model and usage (the latest
    ``usageMetadata`` wins: Google repeats it, growing, on every chunk)."""

    __slots__ = ("_chars", "_input_estimate", "completed", "response_model", "usage")

    def __init__(self, input_tokens_estimate: int = 0) -> None:
        self.usage = Usage()
        self.response_model: str | None = None
        self.completed = False
        self._input_estimate = input_tokens_estimate
        self._chars = 0

    def feed(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        meta = data.get("usageMetadata")
        if isinstance(meta, dict):
            self.usage = usage_from_gemini(meta)
        model = data.get("modelVersion")
        if isinstance(model, str) and model:
            self.response_model = model
        for candidate in data.get("candidates") or ():
            if not isinstance(candidate, dict):
                continue
            if candidate.get("finishReason"):
                self.completed = True
            content = candidate.get("content")
            for part in (content.get("parts") if isinstance(content, dict) else None) or ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    self._chars += len(part["text"])

    def finish(self) -> None:
        usage = self.usage
        if usage.prompt_tokens == 0:
            usage.prompt_tokens = self._input_estimate
            usage.estimated = True
        if not usage.completion_tokens and self._chars:
            usage.completion_tokens = max(1, self._chars // 4)
            usage.estimated = True


async def json_array_stream(sse: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Gemini SSE chunks -> the JSON array Google streams without ``alt=sse``
    (``[{...}`` then ``,\\r\\n{...}`` and a closing ``]``), each element as
    soon as its event is complete."""
    decoder = SSEDecoder()
    first = True
    async for piece in sse:
        out = []
        for event in decoder.feed(piece):
            if not event.data:
                continue
            out.append((b"[" if first else b",\r\n") + event.data.encode())
            first = False
        if out:
            yield b"".join(out)
    tail = [e.data.encode() for e in decoder.close() if e.data]
    body = b"".join((b"[" if first and i == 0 else b",\r\n") + d for i, d in enumerate(tail))
    if tail:
        first = False
    yield body + (b"[]" if first else b"]")
