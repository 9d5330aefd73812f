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
from lockgate.llm.wire.tool_identifiers import (
    client_tool_names,
    restore_gemini_tool_names,
    shorten_gemini_tool_names,
    tool_name_map,
)

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


def _gemini_names(body: dict[str, Any]) -> dict[str, str]:
    """Gemini refuses function names over 64 characters (Claude Code's MCP
    tools have longer ones): shortened name -> the client's."""
    return tool_name_map(client_tool_names(body))


class _GeminiNamesRestored:
    """A Gemini stream translator fed chunks whose shortened function names
    were given back their client names first."""

    __slots__ = ("_inner", "_names", "completed", "response_model", "usage")

    def __init__(self, inner: StreamTranslator, names: dict[str, str]) -> None:
        self._inner = inner
        self._names = names
        self._sync()

    def _sync(self) -> None:
        self.usage = self._inner.usage
        self.response_model = self._inner.response_model
        self.completed = self._inner.completed

    def feed(self, data: dict[str, Any]) -> bytes:
        out = self._inner.feed(restore_gemini_tool_names(data, self._names))
        self._sync()
        return out

    def finish(self) -> bytes:
        out = self._inner.finish()
        self._sync()
        return out

    def fail(self, error_type: str, message: str) -> bytes:
        out = self._inner.fail(error_type, message)
        self._sync()
        return out


def _gemini_stream(inner: StreamTranslator, body: dict[str, Any]) -> StreamTranslator:
    names = _gemini_names(body)
    return _GeminiNamesRestored(inner, names) if names else inner


def conversion(client: str, upstream: str) -> Conversion:
    if client == upstream:
        return Conversion(client, upstream, None, None, None)
    if client == "gemini":
        from lockgate.llm.gemini_conversions import gemini_client_conversion

        return gemini_client_conversion(upstream)
    from lockgate.llm.wire import (
        anthropic_gemini,
        anthropic_openai,
        openai_anthropic,
        openai_anthropic_stream,
        openai_gemini,
    )

    if client == "anthropic" and upstream == "openai":
        return Conversion(
            client,
            upstream,
            anthropic_openai.anthropic_to_openai_request,
            lambda resp, model, body: anthropic_openai.openai_to_anthropic_response(
                resp, model, _stops(body), anthropic_openai.shortened_tool_names(body)
            ),
            lambda model, est, call: anthropic_openai.OpenAIToAnthropicStream(
                model, est, _stops(call.body), anthropic_openai.shortened_tool_names(call.body)
            ),
        )
    if client == "anthropic" and upstream == "gemini":
        return Conversion(
            client,
            upstream,
            lambda body, model: shorten_gemini_tool_names(
                anthropic_gemini.anthropic_to_gemini_request(body, model=model)
            ),
            lambda resp, model, body: anthropic_gemini.gemini_to_anthropic_response(
                restore_gemini_tool_names(resp, _gemini_names(body)), model
            ),
            lambda model, est, call: _gemini_stream(
                anthropic_gemini.GeminiToAnthropicStream(model, est), call.body
            ),
        )
    if client == "openai" and upstream == "anthropic":
        return Conversion(
            client,
            upstream,
            openai_anthropic.openai_to_anthropic_request,
            lambda resp, model, body: openai_anthropic.anthropic_to_openai_response(
                resp, model, json_tool=openai_anthropic.json_object_tool(body)
            ),
            lambda model, est, call: openai_anthropic_stream.AnthropicToOpenAIStream(
                model,
                call.include_usage,
                est,
                json_tool=openai_anthropic.json_object_tool(call.body),
            ),
        )
    if client == "responses":
        return _responses(upstream)
    if upstream == "bedrock":
        return _bedrock(client)
    if client == "openai" and upstream == "gemini":
        return Conversion(
            client,
            upstream,
            lambda body, model: shorten_gemini_tool_names(
                openai_gemini.openai_to_gemini_request(body, model=model)
            ),
            lambda resp, model, body: openai_gemini.gemini_to_openai_response(
                restore_gemini_tool_names(resp, _gemini_names(body)), model
            ),
            lambda model, est, call: _gemini_stream(
                openai_gemini.GeminiToOpenAIStream(model, call.include_usage), call.body
            ),
        )
    raise ValueError(f"no conversion from {client} clients to {upstream} upstreams")


def _bedrock(client: str) -> Conversion:
    """Bedrock Converse is written as a codec of the conversation model
    (docs/translation.md): an OpenAI client's request is decoded into the
    model first, and answers are encoded back from the model."""
    from lockgate.llm.wire import bedrock, bedrock_stream, openai_anthropic

    if client == "anthropic":
        return Conversion(
            client,
            "bedrock",
            bedrock.anthropic_to_converse_request,
            lambda resp, model, body: bedrock.converse_to_anthropic_response(resp, model),
            lambda model, est, call: bedrock_stream.ConverseToAnthropicStream(model, est),
        )

    def request(body: dict[str, Any], model: str) -> dict[str, Any]:
        decoded = openai_anthropic.openai_to_anthropic_request(body, model)
        return bedrock.anthropic_to_converse_request(decoded, model)

    def response(
        resp: dict[str, Any], model: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], Usage]:
        message, _ = bedrock.converse_to_anthropic_response(resp, model)
        return openai_anthropic.anthropic_to_openai_response(
            message, model, json_tool=openai_anthropic.json_object_tool(body)
        )

    return Conversion(
        client,
        "bedrock",
        request,
        response,
        lambda model, est, call: bedrock_stream.ConverseToOpenAIStream(
            model, call.include_usage, est, openai_anthropic.json_object_tool(call.body)
        ),
    )


class _EventsToResponses:
    """A Responses stream from an upstream whose chunks ``source`` decodes into
    Anthropic events (the conversation model's); ``restore`` puts the
    client's tool names back into a chunk first (Gemini's short names)."""

    __slots__ = ("_encoder", "_restore", "_source", "completed", "response_model", "usage")

    def __init__(
        self,
        source: Any,
        encoder: Any,
        restore: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self._source = source
        self._encoder = encoder
        self._restore = restore
        self._sync()

    def _sync(self) -> None:
        encoder = self._encoder
        self.usage = encoder.usage
        self.response_model = encoder.response_model or getattr(
            self._source, "response_model", None
        )
        self.completed = encoder.completed

    def _encode(self, events: list[dict[str, Any]]) -> bytes:
        out = b"".join([self._encoder.feed(event) for event in events])
        self._sync()
        return out

    def feed(self, data: dict[str, Any]) -> bytes:
        from lockgate.llm.wire.bedrock_stream import StreamException

        if self._restore is not None:
            data = self._restore(data)
        try:
            return self._encode(self._source.events(data))
        except StreamException as exc:
            return self.fail(exc.kind, exc.message)

    def finish(self) -> bytes:
        out = self._encode(self._source.finish_events()) + self._encoder.finish()
        self._sync()
        return out

    def fail(self, error_type: str, message: str) -> bytes:
        out = bytes(self._encoder.fail(error_type, message))
        self._sync()
        return out


class _ConverseSource:
    """Bedrock's ConverseEvents under the names :class:`_EventsToResponses` calls."""

    __slots__ = ("_events", "response_model")

    def __init__(self, model: str, estimate: int) -> None:
        from lockgate.llm.wire.bedrock_stream import ConverseEvents

        self._events = ConverseEvents(model, estimate)
        self.response_model = model

    def events(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return self._events.feed(data)

    def finish_events(self) -> list[dict[str, Any]]:
        return self._events.finish()


def _responses(upstream: str) -> Conversion:
    """A Responses client in front of a translated upstream: its request is
    decoded into the conversation model, which each upstream's encoder takes;
    answers and stream events come back through the model (docs/translation.md)."""
    from lockgate.llm.wire import (
        anthropic_gemini,
        anthropic_openai,
        bedrock,
    )
    from lockgate.llm.wire.responses_request import responses_to_anthropic_request
    from lockgate.llm.wire.responses_response import anthropic_to_responses_response
    from lockgate.llm.wire.responses_stream import AnthropicEventsToResponses

    decode = responses_to_anthropic_request

    def encoder(model: str, estimate: int, call: Any) -> AnthropicEventsToResponses:
        # The response is named and dated after the gateway's request: no
        # clock or random source to read again (each costs more than it seems
        # on a busy worker), and its id finds the request in the log.
        return AnthropicEventsToResponses(
            model,
            call.body,
            estimate,
            int(call.started_at) if call.started_at else None,
            call.request_id or None,
        )

    if upstream == "anthropic":
        return Conversion(
            "responses",
            upstream,
            decode,
            lambda resp, model, body: anthropic_to_responses_response(resp, model, body),
            # Anthropic's events are the model's: fed to the encoder as they come.
            encoder,
        )
    if upstream == "openai":

        def openai_response(
            resp: dict[str, Any], model: str, body: dict[str, Any]
        ) -> tuple[dict[str, Any], Usage]:
            names = anthropic_openai.shortened_tool_names(body)
            message, _ = anthropic_openai.openai_to_anthropic_response(resp, model, None, names)
            return anthropic_to_responses_response(message, model, body)

        return Conversion(
            "responses",
            upstream,
            lambda body, model: anthropic_openai.anthropic_to_openai_request(
                decode(body, model), model
            ),
            openai_response,
            lambda model, est, call: _EventsToResponses(
                anthropic_openai.OpenAIToAnthropicStream(
                    model, est, None, anthropic_openai.shortened_tool_names(call.body)
                ),
                encoder(model, est, call),
            ),
        )
    if upstream == "gemini":

        def gemini_response(
            resp: dict[str, Any], model: str, body: dict[str, Any]
        ) -> tuple[dict[str, Any], Usage]:
            restored = restore_gemini_tool_names(resp, _gemini_names(body))
            message, _ = anthropic_gemini.gemini_to_anthropic_response(restored, model)
            return anthropic_to_responses_response(message, model, body)

        def gemini_stream(model: str, est: int, call: Any) -> StreamTranslator:
            names = _gemini_names(call.body)
            return _EventsToResponses(
                anthropic_gemini.GeminiToAnthropicStream(model, est),
                encoder(model, est, call),
                (lambda data: restore_gemini_tool_names(data, names)) if names else None,
            )

        return Conversion(
            "responses",
            upstream,
            lambda body, model: shorten_gemini_tool_names(
                anthropic_gemini.anthropic_to_gemini_request(decode(body, model), model=model)
            ),
            gemini_response,
            gemini_stream,
        )
    if upstream == "bedrock":

        def bedrock_response(
            resp: dict[str, Any], model: str, body: dict[str, Any]
        ) -> tuple[dict[str, Any], Usage]:
            message, _ = bedrock.converse_to_anthropic_response(resp, model)
            return anthropic_to_responses_response(message, model, body)

        return Conversion(
            "responses",
            upstream,
            lambda body, model: bedrock.anthropic_to_converse_request(decode(body, model), model),
            bedrock_response,
            lambda model, est, call: _EventsToResponses(
                _ConverseSource(model, est), encoder(model, est, call)
            ),
        )
    raise ValueError(f"no conversion from responses clients to {upstream} upstreams")
