"""An Anthropic stream in front of an OpenAI Chat Completions client: Anthropic
events -> ``chat.completion.chunk`` data events, incrementally (the request and
the whole response are :mod:`lockgate.llm.wire.openai_anthropic`).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from lockgate.llm.sse import encode_data
from lockgate.llm.wire.anthropic import AnthropicStreamObserver
from lockgate.llm.wire.openai import openai_error_body
from lockgate.llm.wire.openai_anthropic import FINISH_REASONS, completion_id, openai_usage

__all__ = ["AnthropicToOpenAIStream"]

# Anthropic error types an OpenAI client would not recognise.
_OPENAI_ERROR_TYPES = {"api_error": "server_error", "overloaded_error": "server_error"}

_DONE = b"data: [DONE]\n\n"


class AnthropicToOpenAIStream:
    """Anthropic stream events -> ``chat.completion.chunk`` data events, one event at a time.

    ``message_start`` gives the role chunk; text, thinking (as
    ``reasoning_content``) and tool input deltas become content, reasoning and
    ``tool_calls`` deltas (the first with ``index``, ``id``, ``name``, then
    ``arguments`` fragments), except a call of ``json_tool`` whose input
    fragments are content deltas; ``message_delta`` gives the finish-reason chunk;
    ``message_stop`` the usage chunk (``choices: []``) when ``include_usage``,
    and ``data: [DONE]`` (then, not at :meth:`finish`: the end goes out in the
    same write as the last chunks). An incomplete stream, an upstream
    ``error`` event, or :meth:`fail` end it with a data chunk holding an
    ``error`` object, which the OpenAI SDK raises.
    """

    __slots__ = (
        "_content_head",
        "_created",
        "_done",
        "_id",
        "_include_usage",
        "_json_blocks",
        "_json_tool",
        "_model",
        "_observer",
        "_tool_index",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(
        self,
        model: str,
        include_usage: bool = False,
        input_tokens_estimate: int = 0,
        created: int | None = None,
        json_tool: str | None = None,
    ) -> None:
        self._observer = AnthropicStreamObserver(input_tokens_estimate)
        self._json_tool = json_tool
        self._json_blocks: set[int] = set()
        self.usage = self._observer.usage
        self.response_model: str | None = None
        self.completed = False
        self._model = model
        self._include_usage = include_usage
        self._created = int(time.time()) if created is None else created
        self._id = "chatcmpl"
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool_calls index
        self._done = False
        #: (model, id, a content chunk's bytes up to its text), see _content_chunk.
        self._content_head: tuple[str, str, bytes] | None = None

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return encode_data(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self.response_model or self._model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
        )

    def _content_chunk(self, text: Any) -> bytes:
        """``self._chunk({"content": text})``, its fixed parts encoded once
        (the same bytes: orjson writes keys in order, and a value alone as it
        writes it in an object)."""
        model = self.response_model or self._model
        head = self._content_head
        if head is None or head[0] != model or head[1] != self._id:
            prefix = orjson.dumps(
                {"id": self._id, "object": "chat.completion.chunk", "created": self._created}
            )[:-1]
            head = self._content_head = (
                model,
                self._id,
                b"data: "
                + prefix
                + b',"model":'
                + orjson.dumps(model)
                + b',"choices":[{"index":0,"delta":{"content":',
            )
        return head[2] + orjson.dumps(text) + b'},"logprobs":null,"finish_reason":null}]}\n\n'

    def feed(self, data: dict[str, Any]) -> bytes:
        if self._done:
            return b""
        observer = self._observer
        observer.feed(data)
        self.usage = observer.usage
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            delta_kind = delta.get("type")
            if delta_kind == "text_delta":
                return self._content_chunk(delta.get("text") or "")
            if delta_kind == "thinking_delta":
                return self._chunk({"reasoning_content": delta.get("thinking") or ""})
            if delta_kind == "input_json_delta":
                partial = delta.get("partial_json")
                if data.get("index") in self._json_blocks:
                    return self._chunk({"content": partial}) if partial else b""
                tool = self._tool_index.get(data.get("index", -1))
                if tool is None or not partial:
                    return b""
                return self._chunk(
                    {"tool_calls": [{"index": tool, "function": {"arguments": partial}}]}
                )
            return b""  # signature and citation deltas have no OpenAI form
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = completion_id(message.get("id"))
            self.response_model = observer.response_model
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "message_delta":
            delta = data.get("delta") or {}
            stop_reason = delta.get("stop_reason")
            if not isinstance(stop_reason, str):
                return b""
            finish_reason = FINISH_REASONS.get(stop_reason, "stop")
            if finish_reason == "tool_calls" and self._json_blocks and not self._tool_index:
                finish_reason = "stop"  # the forced json_object call ended the answer
            return self._chunk({}, finish_reason)
        if kind == "message_stop":
            self.completed = True
            self._done = True
            if not self._include_usage:
                return _DONE
            return (
                encode_data(
                    {
                        "id": self._id,
                        "object": "chat.completion.chunk",
                        "created": self._created,
                        "model": self.response_model or self._model,
                        "choices": [],
                        "usage": openai_usage(self.usage),
                    }
                )
                + _DONE
            )
        if kind == "error":
            error = data.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else None
            error_type = error.get("type") if isinstance(error, dict) else None
            return self._error(
                error_type if isinstance(error_type, str) else "api_error",
                message if isinstance(message, str) else "upstream error",
            )
        return b""  # ping and unknown events

    def _block_start(self, data: dict[str, Any]) -> bytes:
        block = data.get("content_block") or {}
        kind = block.get("type")
        if (
            kind == "tool_use"
            and self._json_tool is not None
            and block.get("name") == self._json_tool
        ):
            self._json_blocks.add(data.get("index", -1))
            initial = block.get("input")
            return self._chunk({"content": orjson.dumps(initial).decode()}) if initial else b""
        if kind == "tool_use":
            tool = len(self._tool_index)
            self._tool_index[data.get("index", tool)] = tool
            initial = block.get("input")
            arguments = orjson.dumps(initial).decode() if initial else ""
            call = {
                "index": tool,
                "id": block.get("id") or "",
                "type": "function",
                "function": {"name": block.get("name") or "", "arguments": arguments},
            }
            return self._chunk({"tool_calls": [call]})
        if kind == "text" and block.get("text"):
            return self._chunk({"content": block["text"]})
        if kind == "thinking" and block.get("thinking"):
            return self._chunk({"reasoning_content": block["thinking"]})
        return b""

    def _error(self, error_type: str, message: str) -> bytes:
        error_type = _OPENAI_ERROR_TYPES.get(error_type, error_type)
        self._done = True
        self._observer.finish()
        self.usage = self._observer.usage
        return encode_data(openai_error_body(message, error_type))

    def finish(self) -> bytes:
        if self._done:
            return b""
        return self._error("api_error", "the upstream stream ended prematurely")

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        return self._error(error_type, message)
