"""Facts of the OpenAI Responses API format itself (``POST /v1/responses``).

Usage extraction, the stream's error event, a local input-token estimate and
an observer for passthrough streams (OpenAI and Azure serve the API; every
other provider gets it translated, see ``responses_request`` and
``responses_stream``).
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.llm.sse import encode_event
from lockgate.llm.usage import Usage, estimate_tokens
from lockgate.llm.wire.openai import IMAGE_TOKENS

__all__ = [
    "ResponsesStreamObserver",
    "estimate_responses_input_tokens",
    "responses_stream_failure",
    "responses_usage",
    "usage_from_responses",
]

#: Events that end a Responses stream (a top-level ``error`` event ends it too).
TERMINAL_EVENTS = frozenset(
    ("response.completed", "response.incomplete", "response.failed", "error")
)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from_responses(usage: Any) -> Usage:
    """A Responses ``usage`` object -> :class:`Usage` (``input_tokens`` counts
    cached input, ``output_tokens`` reasoning, as in Chat Completions)."""
    if not isinstance(usage, dict):
        return Usage()
    input_details = usage.get("input_tokens_details")
    output_details = usage.get("output_tokens_details")
    return Usage(
        prompt_tokens=_int(usage.get("input_tokens")),
        completion_tokens=_int(usage.get("output_tokens")),
        cached_tokens=_int(input_details.get("cached_tokens"))
        if isinstance(input_details, dict)
        else 0,
        cache_creation_tokens=_int(input_details.get("cache_write_tokens"))
        if isinstance(input_details, dict)
        else 0,
        reasoning_tokens=_int(output_details.get("reasoning_tokens"))
        if isinstance(output_details, dict)
        else 0,
    )


def responses_usage(usage: Usage) -> dict[str, Any]:
    """:class:`Usage` -> a Responses ``usage`` object."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_creation_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def responses_stream_failure(observer: ResponsesStreamObserver, message: str) -> bytes:
    """What ends a passed-through stream the gateway saw break: the response
    it was streaming, failed (same id: the SDKs refuse a changed identity),
    or an ``error`` event when none had begun."""
    sequence = observer.last_sequence + 1
    error = {"code": "server_error", "message": message}
    if observer.response is not None:
        failed = {**observer.response, "status": "failed", "error": error}
        return encode_event(
            "response.failed",
            {"type": "response.failed", "response": failed, "sequence_number": sequence},
        )
    return encode_event(
        "error",
        {"type": "error", **error, "param": None, "sequence_number": sequence},
    )


class ResponsesStreamObserver:
    """Watches the events of a passthrough Responses stream for model and usage.

    The final usage comes in ``response.completed`` (or ``.incomplete`` /
    ``.failed``); deltas are counted so that a stream cut before it can be
    logged with an estimate.
    """

    __slots__ = (
        "_chars",
        "_input_estimate",
        "_reported",
        "completed",
        "last_sequence",
        "response",
        "response_model",
        "usage",
    )

    def __init__(self, input_tokens_estimate: int = 0) -> None:
        self.usage = Usage()
        self.response_model: str | None = None
        self.completed = False
        #: The upstream's last sequence number: a gateway error event follows it.
        self.last_sequence = -1
        #: The latest response object the stream carried (a failure repeats its id).
        self.response: dict[str, Any] | None = None
        self._input_estimate = input_tokens_estimate
        self._reported = False
        self._chars = 0

    def feed(self, data: dict[str, Any]) -> None:
        sequence = data.get("sequence_number")
        if isinstance(sequence, int):
            self.last_sequence = sequence
        kind = data.get("type")
        if not isinstance(kind, str):
            return
        if kind.endswith(".delta"):
            delta = data.get("delta")
            if isinstance(delta, str):
                self._chars += len(delta)
            return
        if kind in TERMINAL_EVENTS:
            self.completed = True
        response = data.get("response")
        if not isinstance(response, dict):
            return
        self.response = response
        model = response.get("model")
        if isinstance(model, str) and model:
            self.response_model = model
        usage = response.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_from_responses(usage)
            self._reported = True

    def finish(self) -> None:
        """The stream ended: fill in estimates for numbers it never reported."""
        if self._reported and self.usage.reported:
            return
        self.usage = Usage(
            prompt_tokens=self._input_estimate,
            completion_tokens=estimate_tokens(self._chars) if self._chars else 0,
            estimated=True,
        )


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    return 0 if value is None else len(orjson.dumps(value))


def _content_size(content: Any) -> tuple[int, int]:
    if isinstance(content, str):
        return len(content), 0
    if not isinstance(content, list):
        return 0, 0
    chars = images = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text", "refusal"):
            chars += _size(part.get("text") or part.get("refusal"))
        elif kind in ("input_image", "input_file", "input_audio"):
            images += 1
        else:
            chars += _size(part)
    return chars, images


def estimate_responses_input_tokens(body: dict[str, Any]) -> int:
    """A local estimate of a Responses request's input tokens (about four
    characters a token; :data:`IMAGE_TOKENS` an image or file). Reasoning
    items' encrypted content is not counted: it is opaque and, to other
    providers, dropped."""
    chars = _size(body.get("instructions"))
    images = framing = 0
    items = body.get("input")
    if isinstance(items, str):
        chars += len(items)
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            framing += 4
            kind = item.get("type", "message")
            if kind == "message":
                sub_chars, sub_images = _content_size(item.get("content"))
                chars += sub_chars
                images += sub_images
            elif kind == "reasoning":
                for part in item.get("summary") or ():
                    if isinstance(part, dict):
                        chars += _size(part.get("text"))
            else:
                for key in ("name", "arguments", "input", "output", "action"):
                    if key in item:
                        chars += _size(item[key])
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if isinstance(tool, dict):
                chars += _size(tool)
                framing += 8
    text_tokens = estimate_tokens(chars) if chars else 0
    return text_tokens + images * IMAGE_TOKENS + framing
