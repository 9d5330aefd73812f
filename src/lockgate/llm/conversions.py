"""Which converters serve a (client format, upstream format) pair.

The one table of format pairs: the AI proxy looks its pair up once per
configured target, never per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockgate.llm.usage import Usage
from lockgate.llm.wire import StreamTranslator

__all__ = ["Conversion", "conversion"]

RequestFn = Callable[[dict[str, Any], str], dict[str, Any]]
ResponseFn = Callable[[dict[str, Any], str], tuple[dict[str, Any], Usage]]
StreamFn = Callable[[str, int, bool], StreamTranslator]


@dataclass(frozen=True, slots=True)
class Conversion:
    client: str
    upstream: str
    #: None for a passthrough pair (same format both sides).
    request: RequestFn | None
    response: ResponseFn | None
    stream: StreamFn | None

    @property
    def passthrough(self) -> bool:
        return self.request is None


def conversion(client: str, upstream: str) -> Conversion:
    if client == upstream:
        return Conversion(client, upstream, None, None, None)
    from lockgate.llm.wire import anthropic_gemini, anthropic_openai, openai_anthropic, openai_gemini

    if client == "anthropic" and upstream == "openai":
        return Conversion(
            client, upstream,
            anthropic_openai.anthropic_to_openai_request,
            anthropic_openai.openai_to_anthropic_response,
            lambda model, est, include_usage: anthropic_openai.OpenAIToAnthropicStream(model, est),
        )
    if client == "anthropic" and upstream == "gemini":
        return Conversion(
            client, upstream,
            lambda body, model: anthropic_gemini.anthropic_to_gemini_request(body, model=model),
            anthropic_gemini.gemini_to_anthropic_response,
            lambda model, est, include_usage: anthropic_gemini.GeminiToAnthropicStream(model, est),
        )
    if client == "openai" and upstream == "anthropic":
        return Conversion(
            client, upstream,
            openai_anthropic.openai_to_anthropic_request,
            openai_anthropic.anthropic_to_openai_response,
            lambda model, est, include_usage: openai_anthropic.AnthropicToOpenAIStream(model, include_usage),
        )
    if client == "openai" and upstream == "gemini":
        return Conversion(
            client, upstream,
            lambda body, model: openai_gemini.openai_to_gemini_request(body, model=model),
            openai_gemini.gemini_to_openai_response,
            lambda model, est, include_usage: openai_gemini.GeminiToOpenAIStream(model, include_usage),
        )
    raise ValueError(f"no conversion from {client} clients to {upstream} upstreams")
