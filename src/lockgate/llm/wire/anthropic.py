"""Facts of the Anthropic Messages format itself.

Usage extraction, error bodies, a local input-token estimate (for
``count_tokens`` on providers without a counting API) and an observer that
watches a byte-faithful passthrough stream for usage without changing it.
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.llm.usage import Usage, estimate_tokens

__all__ = [
    "IMAGE_TOKENS",
    "AnthropicStreamObserver",
    "anthropic_error_body",
    "estimate_anthropic_input_tokens",
    "usage_from_anthropic",
]

#: Flat cost of one image or document in the local estimate. Anthropic bills an
#: image by its pixel count (at most about 1600 tokens); the bytes are unknown here.
IMAGE_TOKENS = 1600

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from_anthropic(usage: dict[str, Any]) -> Usage:
    """Anthropic ``usage`` -> :class:`Usage` (OpenAI convention: prompt counts cached input)."""
    cache_read = _int(usage.get("cache_read_input_tokens"))
    cache_creation = _int(usage.get("cache_creation_input_tokens"))
    return Usage(
        prompt_tokens=_int(usage.get("input_tokens")) + cache_read + cache_creation,
        completion_tokens=_int(usage.get("output_tokens")),
        cached_tokens=cache_read,
        cache_creation_tokens=cache_creation,
    )


def anthropic_error_body(error_type: str, message: str) -> dict[str, Any]:
    """The body Anthropic clients expect for an error (HTTP body or ``error`` event)."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


class AnthropicStreamObserver:
    """Watches the events of a passthrough Anthropic stream for model and usage.

    ``message_start`` carries the input side, ``message_delta`` the cumulative
    output (and, on newer APIs, corrected input numbers); non-null values of the
    later event win. Text lengths are counted so that a stream that breaks
    before ``message_delta`` can still be logged with an estimate.
    """

    __slots__ = ("_chars", "_counts", "_input_estimate", "completed", "response_model", "usage")

    def __init__(self, input_tokens_estimate: int = 0) -> None:
        self.usage = Usage()
        self.response_model: str | None = None
        self.completed = False
        self._input_estimate = input_tokens_estimate
        self._counts: dict[str, int] = {}
        self._chars = 0

    def feed(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = data.get("delta")
            if not isinstance(delta, dict):
                return
            for key in ("text", "thinking", "partial_json"):
                value = delta.get(key)
                if isinstance(value, str):
                    self._chars += len(value)
        elif kind == "message_start":
            message = data.get("message")
            if not isinstance(message, dict):
                return
            model = message.get("model")
            if isinstance(model, str):
                self.response_model = model
            self._merge(message.get("usage"))
        elif kind == "message_delta":
            self._merge(data.get("usage"))
        elif kind == "message_stop":
            self.completed = True

    def count_output(self, chars: int) -> None:
        """Output characters of a delta the caller read itself (for the estimate)."""
        self._chars += chars

    def _merge(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        for key in _USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                self._counts[key] = value
        self.usage = usage_from_anthropic(self._counts)

    def finish(self) -> None:
        """The stream ended: fill in estimates for numbers it never reported."""
        if self.completed and "output_tokens" in self._counts:
            return
        usage = self.usage
        if usage.prompt_tokens == 0:
            usage.prompt_tokens = self._input_estimate
            usage.estimated = True
        if self._chars and usage.completion_tokens <= 1:
            usage.completion_tokens = estimate_tokens(self._chars)
            usage.estimated = True


def _size(value: Any) -> int:
    """Characters of a string, or of any other JSON value serialized: an
    estimate must not fail on a malformed request (it is logged for those too)."""
    if isinstance(value, str):
        return len(value)
    return 0 if value is None else len(orjson.dumps(value))


def _text_chars(content: Any) -> tuple[int, int]:
    """(characters, images) in a string or a list of content blocks, recursively."""
    if isinstance(content, str):
        return len(content), 0
    if not isinstance(content, list):
        return 0, 0
    chars = images = 0
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            chars += _size(block.get("text"))
        elif kind in ("image", "document"):
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "text":
                chars += _size(source.get("data"))
            else:
                images += 1
        elif kind == "tool_use" or kind == "server_tool_use":
            chars += _size(block.get("name")) + _size(block.get("input") or {})
        elif kind == "tool_result":
            sub_chars, sub_images = _text_chars(block.get("content"))
            chars += sub_chars
            images += sub_images
        elif kind == "thinking":
            chars += _size(block.get("thinking"))
        else:
            # Unknown block kinds: count their serialized size, as the model sees something of it.
            chars += len(orjson.dumps(block))
    return chars, images


def estimate_anthropic_input_tokens(body: dict[str, Any]) -> int:
    """A local estimate of a Messages request's input tokens (about four characters a token).

    Used by ``count_tokens`` when the upstream has no counting API. Counts the
    system prompt, every message block (tool inputs and results included), and
    tool names, descriptions and schemas; each image or document costs
    :data:`IMAGE_TOKENS`; each message adds a few tokens of framing.
    """
    chars, images = _text_chars(body.get("system"))
    messages = body.get("messages")
    framing = 0
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                sub_chars, sub_images = _text_chars(message.get("content"))
                chars += sub_chars
                images += sub_images
                framing += 4
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if isinstance(tool, dict):
                chars += _size(tool.get("name")) + _size(tool.get("description"))
                schema = tool.get("input_schema")
                if schema is not None:
                    chars += len(orjson.dumps(schema))
                framing += 8
    text_tokens = estimate_tokens(chars) if chars else 0
    return text_tokens + images * IMAGE_TOKENS + framing
