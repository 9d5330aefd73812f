"""The format pairs of Gemini-format clients (``llm_format: gemini``) in
front of a translated upstream; :func:`lockgate.llm.conversions.conversion`
hands them out. Gemini to Gemini (the public API or Vertex) is a
passthrough and needs none.

Every pair goes through the conversation model: the client's request is
decoded into an Anthropic Messages request, encoded for the upstream by the
upstream's existing encoder, and the answer comes back as an Anthropic
message (or stream events) that :mod:`lockgate.llm.wire.gemini_client`
encodes for the client.
"""

from __future__ import annotations

from typing import Any

from lockgate.llm.conversions import Conversion
from lockgate.llm.usage import Usage
from lockgate.llm.wire.gemini_client import (
    anthropic_to_gemini_response,
    field,
    gemini_to_anthropic_request,
)
from lockgate.llm.wire.tool_identifiers import tool_name_map

__all__ = ["gemini_client_conversion"]


def _stops(body: dict[str, Any]) -> list[str] | None:
    stops = field(field(body, "generationConfig"), "stopSequences")
    return [s for s in stops if isinstance(s, str)] if isinstance(stops, list) else None


def _shortened_names(body: dict[str, Any]) -> dict[str, str]:
    """Function names OpenAI-compatible upstreams refuse as too long, by the name sent instead."""
    names = []
    for tool in body.get("tools") or ():
        for declaration in field(tool, "functionDeclarations") or ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                names.append(declaration["name"])
    return tool_name_map(names)


def gemini_client_conversion(upstream: str) -> Conversion:
    from lockgate.llm.wire import anthropic_openai, bedrock
    from lockgate.llm.wire.anthropic import usage_from_anthropic
    from lockgate.llm.wire.gemini_client_stream import (
        AnthropicToGeminiStream,
        ConverseToGeminiStream,
        OpenAIToGeminiStream,
    )

    if upstream == "anthropic":

        def response(
            resp: dict[str, Any], model: str, body: dict[str, Any]
        ) -> tuple[dict[str, Any], Usage]:
            usage = usage_from_anthropic(resp.get("usage") or {})
            return anthropic_to_gemini_response(resp, model, usage), usage

        return Conversion(
            "gemini",
            upstream,
            gemini_to_anthropic_request,
            response,
            lambda model, est, call: AnthropicToGeminiStream(model, est),
        )
    if upstream == "openai":

        def openai_request(body: dict[str, Any], model: str) -> dict[str, Any]:
            decoded = gemini_to_anthropic_request(body, model)
            return anthropic_openai.anthropic_to_openai_request(decoded, model)

        def openai_response(
            resp: dict[str, Any], model: str, body: dict[str, Any]
        ) -> tuple[dict[str, Any], Usage]:
            message, usage = anthropic_openai.openai_to_anthropic_response(
                resp, model, _stops(body), _shortened_names(body)
            )
            return anthropic_to_gemini_response(message, model, usage), usage

        return Conversion(
            "gemini",
            upstream,
            openai_request,
            openai_response,
            lambda model, est, call: OpenAIToGeminiStream(
                anthropic_openai.OpenAIToAnthropicStream(
                    model, est, _stops(call.body), _shortened_names(call.body)
                ),
                model,
                est,
            ),
        )
    if upstream == "bedrock":

        def converse_request(body: dict[str, Any], model: str) -> dict[str, Any]:
            decoded = gemini_to_anthropic_request(body, model)
            return bedrock.anthropic_to_converse_request(decoded, model)

        def converse_response(
            resp: dict[str, Any], model: str, body: dict[str, Any]
        ) -> tuple[dict[str, Any], Usage]:
            message, usage = bedrock.converse_to_anthropic_response(resp, model)
            return anthropic_to_gemini_response(message, model, usage), usage

        return Conversion(
            "gemini",
            upstream,
            converse_request,
            converse_response,
            lambda model, est, call: ConverseToGeminiStream(model, est),
        )
    raise ValueError(f"no conversion from gemini clients to {upstream} upstreams")
