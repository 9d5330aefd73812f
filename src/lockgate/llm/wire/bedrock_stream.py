"""ConverseStream answers: AWS event-stream frames -> conversation-model
events -> the client's stream.

Three small pieces, each fed one thing at a time:

- :class:`EventStreamDecoder`: bytes as they arrive -> decoded events
  ``{"<eventType>": payload}`` (the shape boto3 gives), framing and CRCs
  checked by botocore's parser. An ``exception`` frame becomes
  ``{"exception": {"type", "message"}}``.
- :class:`ConverseEvents`: one Converse event -> Anthropic stream events
  (dicts). Bedrock sends ``contentBlockStart`` only for tool calls, so a text
  or reasoning delta at a new index opens its block; ``metadata`` (usage),
  which follows ``messageStop``, closes the message.
- :class:`ConverseToAnthropicStream` and :class:`ConverseToOpenAIStream`:
  stream translators for the proxy, the first encoding the events as
  Anthropic SSE, the second handing them to the OpenAI encoder.
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore.eventstream import EventStreamBuffer, ParserError

from lockgate.llm.sse import encode_event
from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import AnthropicStreamObserver, anthropic_error_body
from lockgate.llm.wire.bedrock import (
    anthropic_stop_reason,
    converse_error,
    converse_usage,
    message_id,
    stop_sequence,
)
from lockgate.llm.wire.openai_anthropic_stream import AnthropicToOpenAIStream

__all__ = [
    "ConverseEvents",
    "ConverseToAnthropicStream",
    "ConverseToOpenAIStream",
    "EventStreamDecoder",
]


class EventStreamDecoder:
    """AWS event-stream bytes -> decoded ConverseStream events."""

    __slots__ = ("_broken", "_buffer")

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self._broken = False

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        if self._broken:
            return []
        self._buffer.add_data(chunk)
        events: list[dict[str, Any]] = []
        try:
            for message in self._buffer:
                events.append(_event(message.headers, message.payload))
        except ParserError as exc:
            self._broken = True
            kind = type(exc).__name__
            events.append(
                {"exception": {"type": "internalServerException", "message": f"bad frame: {kind}"}}
            )
        return events


def _event(headers: dict[str, Any], payload: bytes) -> dict[str, Any]:
    kind = headers.get(":message-type")
    try:
        body = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        body = {"message": payload.decode("utf-8", "replace")}
    if kind == "event":
        return {str(headers.get(":event-type")): body}
    name = headers.get(":exception-type") or headers.get(":error-code") or "internalServerException"
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = str(headers.get(":error-message") or "")
    return {"exception": {"type": str(name), "message": message}}


class ConverseEvents:
    """One ConverseStream event at a time -> the Anthropic events it means."""

    __slots__ = (
        "_blocks",
        "_estimate",
        "_model",
        "_next",
        "_open",
        "_started",
        "_stop",
        "_stop_sequence",
        "done",
    )

    def __init__(self, model: str, input_tokens_estimate: int) -> None:
        self._model = model
        self._started = False
        self._blocks: dict[int, int] = {}  # Bedrock contentBlockIndex -> Anthropic index
        self._open: dict[int, str] = {}  # open Anthropic index -> block type
        self._next = 0
        self._stop: str | None = None
        self._stop_sequence: str | None = None
        self.done = False
        self._estimate = input_tokens_estimate

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.done:
            return out
        if "exception" in event:
            raise StreamException(event["exception"])
        if not self._started:
            self._started = True
            out.append(self._message_start())
        if "contentBlockStart" in event:
            data = event["contentBlockStart"]
            tool = (data.get("start") or {}).get("toolUse")
            if isinstance(tool, dict):
                block: dict[str, Any] = {
                    "type": "tool_use",
                    "id": tool.get("toolUseId"),
                    "name": tool.get("name"),
                    "input": {},
                }
                out += self._start(data.get("contentBlockIndex"), block)
        elif "contentBlockDelta" in event:
            data = event["contentBlockDelta"]
            out += self._delta(data.get("contentBlockIndex"), data.get("delta") or {})
        elif "contentBlockStop" in event:
            index = self._blocks.get(_index(event["contentBlockStop"].get("contentBlockIndex")))
            if index is not None and self._open.pop(index, None) is not None:
                out.append({"type": "content_block_stop", "index": index})
        elif "messageStop" in event:
            data = event["messageStop"]
            self._stop = anthropic_stop_reason(data.get("stopReason"))
            if self._stop == "stop_sequence":
                self._stop_sequence = stop_sequence(data.get("additionalModelResponseFields"))
        elif "metadata" in event:
            out += self._end(event["metadata"].get("usage"))
        return out

    def finish(self) -> list[dict[str, Any]]:
        """The stream ended: without ``metadata`` (some endpoints omit it) a
        stop reason alone still ends the message; without that it was cut."""
        if self.done or self._stop is None:
            return []
        return self._end(None)

    def _message_start(self) -> dict[str, Any]:
        return {
            "type": "message_start",
            "message": {
                "id": message_id(),
                "type": "message",
                "role": "assistant",
                "model": self._model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": self._estimate, "output_tokens": 1},
            },
        }

    def _start(self, bedrock_index: Any, block: dict[str, Any]) -> list[dict[str, Any]]:
        index = self._next
        self._next += 1
        self._blocks[_index(bedrock_index)] = index
        self._open[index] = block["type"]
        return [{"type": "content_block_start", "index": index, "content_block": block}]

    def _delta(self, bedrock_index: Any, delta: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        key = _index(bedrock_index)
        index = self._blocks.get(key)
        if "text" in delta:
            if index is None:
                out += self._start(key, {"type": "text", "text": ""})
                index = self._blocks[key]
            out.append(_block_delta(index, {"type": "text_delta", "text": str(delta["text"])}))
        elif "toolUse" in delta and index is not None:
            partial = str((delta["toolUse"] or {}).get("input") or "")
            if partial:
                out.append(
                    _block_delta(index, {"type": "input_json_delta", "partial_json": partial})
                )
        elif "reasoningContent" in delta:
            reasoning = delta["reasoningContent"] or {}
            if "redactedContent" in reasoning:
                if index is None:
                    block = {"type": "redacted_thinking", "data": str(reasoning["redactedContent"])}
                    out += self._start(key, block)
                return out
            if index is None:
                out += self._start(key, {"type": "thinking", "thinking": "", "signature": ""})
                index = self._blocks[key]
            if isinstance(reasoning.get("text"), str):
                out.append(
                    _block_delta(index, {"type": "thinking_delta", "thinking": reasoning["text"]})
                )
            if isinstance(reasoning.get("signature"), str):
                out.append(
                    _block_delta(
                        index, {"type": "signature_delta", "signature": reasoning["signature"]}
                    )
                )
        return out

    def _end(self, usage: Any) -> list[dict[str, Any]]:
        out = [{"type": "content_block_stop", "index": i} for i in sorted(self._open)]
        self._open.clear()
        delta: dict[str, Any] = {
            "stop_reason": self._stop or "end_turn",
            "stop_sequence": self._stop_sequence,
        }
        message_delta: dict[str, Any] = {"type": "message_delta", "delta": delta}
        if isinstance(usage, dict):
            message_delta["usage"] = converse_usage(usage)
        out.append(message_delta)
        out.append({"type": "message_stop"})
        self.done = True
        return out


class StreamException(Exception):
    """The upstream sent an exception frame: the stream ends with an error event."""

    def __init__(self, exception: dict[str, Any]) -> None:
        status, kind, message = converse_error(
            str(exception.get("type") or ""), str(exception.get("message") or "")
        )
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _index(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ConverseToAnthropicStream:
    """ConverseStream events -> Anthropic SSE bytes (a :class:`StreamTranslator`)."""

    __slots__ = ("_done", "_events", "_observer", "completed", "response_model", "usage")

    def __init__(self, model: str, input_tokens_estimate: int) -> None:
        self._events = ConverseEvents(model, input_tokens_estimate)
        self._observer = AnthropicStreamObserver(input_tokens_estimate)
        self.usage: Usage = self._observer.usage
        self.response_model: str | None = model
        self.completed = False
        self._done = False

    def _encode(self, events: list[dict[str, Any]]) -> bytes:
        out = []
        for event in events:
            self._observer.feed(event)
            out.append(encode_event(event["type"], event))
        self.usage = self._observer.usage
        self.completed = self._observer.completed
        return b"".join(out)

    def feed(self, data: dict[str, Any]) -> bytes:
        if self._done:
            return b""
        try:
            return self._encode(self._events.feed(data))
        except StreamException as exc:
            return self.fail(exc.kind, exc.message)

    def finish(self) -> bytes:
        if self._done:
            return b""
        out = self._encode(self._events.finish())
        if not self.completed:
            out += self.fail("api_error", "the upstream stream ended prematurely")
        return out

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        self._done = True
        self._observer.finish()
        self.usage = self._observer.usage
        return encode_event("error", anthropic_error_body(error_type, message))


class ConverseToOpenAIStream:
    """ConverseStream events -> Chat Completions chunks (a :class:`StreamTranslator`)."""

    __slots__ = ("_events", "_inner", "completed", "response_model", "usage")

    def __init__(
        self,
        model: str,
        include_usage: bool,
        input_tokens_estimate: int,
        json_tool: str | None = None,
    ) -> None:
        self._events = ConverseEvents(model, input_tokens_estimate)
        self._inner = AnthropicToOpenAIStream(
            model, include_usage, input_tokens_estimate, json_tool=json_tool
        )
        self._sync()

    def _sync(self) -> None:
        self.usage = self._inner.usage
        self.response_model = self._inner.response_model
        self.completed = self._inner.completed

    def _encode(self, events: list[dict[str, Any]]) -> bytes:
        out = b"".join(self._inner.feed(event) for event in events)
        self._sync()
        return out

    def feed(self, data: dict[str, Any]) -> bytes:
        try:
            return self._encode(self._events.feed(data))
        except StreamException as exc:
            return self.fail(exc.kind, exc.message)

    def finish(self) -> bytes:
        out = self._encode(self._events.finish()) + self._inner.finish()
        self._sync()
        return out

    def fail(self, error_type: str, message: str) -> bytes:
        out = self._inner.fail(error_type, message)
        self._sync()
        return out
