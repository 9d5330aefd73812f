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
#: (upstream response, model, the client's request) -> (client response, usage)
ResponseFn = Callable[[dict[str, Any], str, dict[str, Any]], tuple[dict[str, Any], Usage]]
#: (model, input-token estimate, the client's call) -> translator
StreamFn = Callable[[str, int, Any], StreamTranslator]


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


def _stops(body: dict[str, Any]) -> list[str] | None:
    stops = body.get("stop_sequences")
    return stops if isinstance(stops, list) else None


def conversion(client: str, upstream: str) -> Conversion:
    if client == upstream:
        return Conversion(client, upstream, None, None, None)
    from lockgate.llm.wire import (
        anthropic_gemini,
        anthropic_openai,
        openai_anthropic,
        openai_gemini,
    )

    if client == "anthropic" and upstream == "openai":
        return Conversion(
            client,
            upstream,
            anthropic_openai.anthropic_to_openai_request,
            lambda resp, model, body: anthropic_openai.openai_to_anthropic_response(
                resp, model, _stops(body)
            ),
            lambda model, est, call: anthropic_openai.OpenAIToAnthropicStream(
                model, est, _stops(call.body)
            ),
        )
    if client == "anthropic" and upstream == "gemini":
        return Conversion(
            client,
            upstream,
            lambda body, model: anthropic_gemini.anthropic_to_gemini_request(body, model=model),
            lambda resp, model, body: anthropic_gemini.gemini_to_anthropic_response(resp, model),
            lambda model, est, call: anthropic_gemini.GeminiToAnthropicStream(model, est),
        )
    if client == "openai" and upstream == "anthropic":
        return Conversion(
            client,
            upstream,
            openai_anthropic.openai_to_anthropic_request,
            lambda resp, model, body: openai_anthropic.anthropic_to_openai_response(
                resp, model, json_tool=openai_anthropic.json_object_tool(body)
            ),
            lambda model, est, call: openai_anthropic.AnthropicToOpenAIStream(
                model,
                call.include_usage,
                est,
                json_tool=openai_anthropic.json_object_tool(call.body),
            ),
        )
    if client == "openai" and upstream == "gemini":
        return Conversion(
            client,
            upstream,
            lambda body, model: openai_gemini.openai_to_gemini_request(body, model=model),
            lambda resp, model, body: openai_gemini.gemini_to_openai_response(resp, model),
            lambda model, est, call: openai_gemini.GeminiToOpenAIStream(model, call.include_usage),
        )
    raise ValueError(f"no conversion from {client} clients to {upstream} upstreams")
