"""Facts of the OpenAI Chat Completions format itself.

Usage extraction, error bodies, a local input-token estimate and an observer
for passthrough streams. Used for OpenAI and every OpenAI-compatible provider.
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.llm.usage import Usage, estimate_tokens

__all__ = [
    "IMAGE_TOKENS",
    "OpenAIStreamObserver",
    "arguments_input",
    "estimate_openai_input_tokens",
    "openai_error_body",
    "usage_from_openai",
]

#: Flat cost of one image in the local estimate (OpenAI's high-detail 1024x1024 tile cost).
IMAGE_TOKENS = 765


def arguments_input(arguments: Any) -> dict[str, Any]:
    """Tool-call ``arguments`` (a JSON string) -> a ``tool_use`` ``input`` object.

    Models sometimes emit broken JSON; that must not fail the response. An
    empty string is ``{}``; anything that is not a JSON object is kept as
    ``{"_raw": "<the arguments>"}`` so the client's tool reports a clear error
    and the model can retry.
    """
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from_openai(usage: dict[str, Any]) -> Usage:
    """OpenAI ``usage`` -> :class:`Usage`.

    DeepSeek reports its cache hits as ``prompt_cache_hit_tokens`` instead of
    ``prompt_tokens_details``; both are understood. Details may be ``null``.
    """
    prompt_details = usage.get("prompt_tokens_details")
    cached = _int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0
    if not cached:
        cached = _int(usage.get("prompt_cache_hit_tokens"))
    completion_details = usage.get("completion_tokens_details")
    reasoning = (
        _int(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, dict)
        else 0
    )
    return Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=cached,
        reasoning_tokens=reasoning,
    )


def openai_error_body(
    message: str, error_type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The body OpenAI clients expect for an error (HTTP body or a stream data chunk)."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class OpenAIStreamObserver:
    """Watches the chunks of a passthrough OpenAI stream for model and usage.

    Usage comes in a final chunk when ``stream_options.include_usage`` was set
    (some providers repeat it, cumulative, in every chunk: the last one wins).
    Output characters are counted so that :meth:`finish` can estimate usage for
    a stream that never reported it.
    """

    __slots__ = ("_chars", "_input_estimate", "_reported", "completed", "response_model", "usage")

    def __init__(self, input_tokens_estimate: int = 0) -> None:
        self.usage = Usage()
        self.response_model: str | None = None
        self.completed = False
        self._input_estimate = input_tokens_estimate
        self._reported = False
        self._chars = 0

    def feed(self, data: dict[str, Any]) -> None:
        if self.response_model is None:
            model = data.get("model")
            if isinstance(model, str) and model:
                self.response_model = model
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_from_openai(usage)
            self._reported = True
        choices = data.get("choices")
        if not choices:
            return
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.completed = True
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._chars += _delta_chars(delta)

    def finish(self) -> None:
        """The stream ended: fill in estimates for numbers it never reported."""
        if self._reported and self.usage.reported:
            return
        self.usage = Usage(
            prompt_tokens=self._input_estimate,
            completion_tokens=estimate_tokens(self._chars) if self._chars else 0,
            estimated=True,
        )


def _delta_chars(delta: dict[str, Any]) -> int:
    chars = 0
    for key in ("content", "reasoning_content", "reasoning", "refusal"):
        value = delta.get(key)
        if isinstance(value, str):
            chars += len(value)
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                args = function.get("arguments")
                if isinstance(args, str):
                    chars += len(args)
    return chars


def _size(value: Any) -> int:
    """Characters of a string, or of any other JSON value serialized: an
    estimate must not fail on a malformed request (it is logged for those too)."""
    if isinstance(value, str):
        return len(value)
    return 0 if value is None else len(orjson.dumps(value))


def _content_chars(content: Any) -> tuple[int, int]:
    """(characters, images) in a message's content: a string or a list of parts."""
    if isinstance(content, str):
        return len(content), 0
    if not isinstance(content, list):
        return 0, 0
    chars = images = 0
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            chars += _size(part.get("text"))
        elif kind in ("image_url", "input_audio", "file"):
            images += 1
        else:
            chars += len(orjson.dumps(part))
    return chars, images


def estimate_openai_input_tokens(body: dict[str, Any]) -> int:
    """A local estimate of a Chat Completions request's input tokens (about four characters a token).

    Counts message contents, tool calls (names and arguments), and tool
    definitions; each image costs :data:`IMAGE_TOKENS`; each message adds a few
    tokens of framing, as OpenAI's chat format does.
    """
    chars = images = framing = 0
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, dict):
                continue
            framing += 4
            sub_chars, sub_images = _content_chars(message.get("content"))
            chars += sub_chars
            images += sub_images
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                for call in calls:
                    function = call.get("function") if isinstance(call, dict) else None
                    if isinstance(function, dict):
                        chars += _size(function.get("name"))
                        chars += _size(function.get("arguments"))
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if isinstance(tool, dict):
                chars += len(orjson.dumps(tool.get("function") or tool))
                framing += 8
    text_tokens = estimate_tokens(chars) if chars else 0
    return text_tokens + images * IMAGE_TOKENS + framing
