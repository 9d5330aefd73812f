"""Context overflows, as each provider reports them, read into one fact.

Claude Code compacts its conversation only when an error says ``prompt is too
long`` (Anthropic's 400 ``invalid_request_error``, worded ``prompt is too
long: 210000 tokens > 200000 maximum``); OpenAI clients and the libraries
around them look for the code ``context_length_exceeded``. Every other
provider says it differently, so the gateway recognises each wording and
rephrases it for the client:

- Anthropic: ``prompt is too long: N tokens > M maximum``;
- OpenAI: ``This model's maximum context length is M tokens. However, your
  messages resulted in N tokens...`` (code ``context_length_exceeded``), or
  ``Your input exceeds the context window of this model...``;
- vLLM (self-hosted, and behind HuggingFace's router): ``This model's
  maximum context length is M tokens. However, you requested T tokens (N in
  the messages, C in the completion)...``; text-generation-inference:
  ``inputs tokens + max_new_tokens must be <= M. Given: N inputs tokens``;
- Gemini and Vertex AI: ``The input token count (N) exceeds the maximum
  number of tokens allowed (M).`` (Vertex sometimes without N);
- DashScope (Qwen): ``Range of input length should be [1, M]``.

A request refused because the prompt *plus* the requested output exceeds the
window while the prompt alone fits is not a prompt overflow (compacting would
not help; a smaller ``max_tokens`` would), so it is not reported as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ContextOverflow",
    "anthropic_overflow_message",
    "find_context_overflow",
    "openai_overflow_message",
]

#: Error codes that name a context overflow whatever the message says.
OVERFLOW_CODES = frozenset({"context_length_exceeded", "string_above_max_length_context"})

_I = re.IGNORECASE
_ANTHROPIC = re.compile(r"prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)", _I)
_GEMINI = re.compile(
    r"input token count(?:\s*\((\d+)\))? exceeds the maximum number of tokens allowed"
    r"(?:\s*\((\d+)\))?",
    _I,
)
_MAXIMUM_CONTEXT = re.compile(r"maximum context length is (\d+) tokens", _I)
_PROMPT_COUNTS = (
    re.compile(r"your messages resulted in (\d+) tokens", _I),
    re.compile(r"\((\d+) in the messages", _I),
    re.compile(r"your request has (\d+) input tokens", _I),
    re.compile(r"your prompt contains (?:at least )?(\d+) (?:input )?tokens", _I),
)
_TGI = re.compile(
    r"`?inputs`? tokens \+ `?max_new_tokens`? must be <= (\d+)\.\s*Given: (\d+) `?inputs`? tokens",
    _I,
)
_DASHSCOPE = re.compile(r"range of input length should be \[\d+,\s*(\d+)\]", _I)
_PHRASES = (
    "maximum context length",
    "context length exceeded",
    "exceeds the context window",
    "context window exceeded",
    "prompt is too long",
    "input is too long for requested model",  # Bedrock's ValidationException
)


@dataclass(frozen=True, slots=True)
class ContextOverflow:
    """What the provider said about the overflow (either number may be unknown)."""

    prompt_tokens: int | None
    maximum: int | None
    message: str


def find_context_overflow(message: str, code: Any = None) -> ContextOverflow | None:
    """The overflow an upstream error message (and its ``code``) reports; None
    when it reports something else, or only output that would not fit."""
    prompt: int | None = None
    maximum: int | None = None
    found = isinstance(code, str) and code in OVERFLOW_CODES
    m = _ANTHROPIC.search(message)
    if m:
        found, prompt, maximum = True, int(m.group(1)), int(m.group(2))
    elif m := _GEMINI.search(message):
        found = True
        prompt = int(m.group(1)) if m.group(1) else None
        maximum = int(m.group(2)) if m.group(2) else None
    elif m := _TGI.search(message):
        found, maximum, prompt = True, int(m.group(1)), int(m.group(2))
    elif m := _DASHSCOPE.search(message):
        found, maximum = True, int(m.group(1))
    else:
        if m := _MAXIMUM_CONTEXT.search(message):
            found, maximum = True, int(m.group(1))
        for pattern in _PROMPT_COUNTS:
            if counted := pattern.search(message):
                prompt = int(counted.group(1))
                break
        lowered = message.lower()
        found = found or any(phrase in lowered for phrase in _PHRASES)
    if not found:
        return None
    if prompt is not None and maximum is not None and prompt <= maximum:
        return None  # the prompt fits; the requested output does not
    return ContextOverflow(prompt, maximum, message)


def anthropic_overflow_message(overflow: ContextOverflow) -> str:
    """Anthropic's wording, with the numbers when the provider gave them, then
    the provider's own message (what the user needs to see)."""
    original = overflow.message
    if original.lower().startswith("prompt is too long"):
        return original
    if overflow.prompt_tokens is not None and overflow.maximum is not None:
        head = f"prompt is too long: {overflow.prompt_tokens} tokens > {overflow.maximum} maximum"
    elif overflow.maximum is not None:
        head = f"prompt is too long: the input exceeds the {overflow.maximum} token maximum"
    else:
        return f"prompt is too long: {original}"
    return f"{head} (upstream: {original})"


def openai_overflow_message(overflow: ContextOverflow) -> str:
    """OpenAI's wording when the provider's does not already use it."""
    original = overflow.message
    if "maximum context length" in original.lower():
        return original
    if overflow.maximum is None:
        return original
    head = f"This model's maximum context length is {overflow.maximum} tokens."
    if overflow.prompt_tokens is not None:
        head += f" However, your messages resulted in {overflow.prompt_tokens} tokens."
    return f"{head} Please reduce the length of the messages. (upstream: {original})"
