"""Relaying a provider's stream to the client: the translator (or, for a
passthrough, the observer that reads usage off it) fed one upstream event at
a time, one write per upstream chunk, and a client-format error event when
the upstream breaks mid-stream. Split from ``exchange`` (which sends the
request and hands the open response here)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from lockgate.llm.sse import SSEDataDecoder, encode_data, encode_event
from lockgate.llm.usage import estimate_tokens
from lockgate.llm.wire.anthropic import AnthropicStreamObserver, anthropic_error_body
from lockgate.llm.wire.openai import OpenAIStreamObserver
from lockgate.llm.wire.responses import ResponsesStreamObserver, responses_stream_failure
from lockgate.plugins.ai_proxy.recording import Recorder, estimate_prompt
from lockgate.plugins.ai_proxy.target import Target

if TYPE_CHECKING:
    from lockgate.plugins.ai_proxy.exchange import ClientCall

__all__ = ["relay_stream", "stream_translator"]

log = logging.getLogger("lockgate.ai")


def stream_translator(target: Target, call: ClientCall, model: str) -> tuple[Any, int]:
    """The stream's translator (or passthrough observer), built while the request body is at hand."""
    conv = target.conversion
    # message_start needs an input figure before the provider reports one; the
    # body's size gives it at no cost (walking 100 KB of blocks would not be free).
    estimate = max(1, len(call.raw) // 4)
    if conv.passthrough:
        if conv.upstream == "gemini":
            from lockgate.llm.wire.gemini_client_stream import GeminiStreamObserver

            return GeminiStreamObserver(estimate), estimate
        observer: Any = (
            AnthropicStreamObserver
            if conv.upstream == "anthropic"
            else ResponsesStreamObserver
            if conv.upstream == "responses"
            else OpenAIStreamObserver
        )
        return observer(estimate), estimate
    assert conv.stream is not None
    return conv.stream(model, estimate, call), estimate


async def relay_stream(
    resp: aiohttp.ClientResponse,
    target: Target,
    call: ClientCall,
    recorder: Recorder,
    translator: Any,
    estimate: int,
) -> AsyncIterator[bytes]:
    conv = target.conversion
    decoder: Any = SSEDataDecoder()
    # Bedrock frames its stream in AWS's binary event-stream: its decoder
    # yields decoded events rather than SSE events' data.
    binary = conv.upstream == "bedrock"
    if binary:
        from lockgate.llm.wire.bedrock_stream import EventStreamDecoder

        decoder = EventStreamDecoder()
    passthrough = conv.passthrough
    sent_bytes = 0
    failed = False
    # A passthrough stream the upstream ended with its own error event (or
    # error chunk) is over: the gateway must not append a second error.
    upstream_error = False
    # Each upstream chunk is one write to the client (a write costs more CPU
    # than translating a dozen events). The first byte should still not wait
    # for a long backlog to be translated (the provider may have sent many
    # events by the time the stream is read): once a translated piece waits,
    # the rest of the first chunk may take _FIRST_BYTE_BUDGET_NS to translate,
    # after which what is ready goes out on its own.
    first_deadline = 0
    try:
        try:
            async for chunk in resp.content.iter_any():
                recorder.first_token()
                out: list[bytes] = []
                for event in decoder.feed(chunk):
                    if binary:
                        parsed = event
                    elif not event or event == b"[DONE]":
                        continue
                    else:
                        try:
                            parsed = orjson.loads(event)
                        except orjson.JSONDecodeError:
                            parsed = _invalid_utf8_json(event)
                            if parsed is _INVALID:
                                failed = True
                                what = "the upstream stream sent invalid JSON"
                                _log_stream_failure(recorder, what)
                                out.append(_fail(translator, passthrough, call, "api_error", what))
                                break
                    if passthrough:
                        translator.feed(parsed)
                        if isinstance(parsed, dict) and parsed.get("error") is not None:
                            upstream_error = True
                        continue
                    piece = translator.feed(parsed)
                    if piece:
                        out.append(piece)
                        if first_deadline >= 0:
                            now = time.perf_counter_ns()
                            if not first_deadline:
                                first_deadline = now + _FIRST_BYTE_BUDGET_NS
                            elif now > first_deadline:
                                first_deadline = -1
                                piece = b"".join(out)
                                out = []
                                sent_bytes += len(piece)
                                yield piece
                if passthrough and not failed:
                    sent_bytes += len(chunk)
                    yield chunk
                elif out:
                    first_deadline = -1
                    piece = b"".join(out)
                    sent_bytes += len(piece)
                    yield piece
                if failed:
                    return
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            failed = True
            _log_stream_failure(recorder, f"the upstream stream broke: {type(exc).__name__}")
            yield _fail(
                translator,
                passthrough,
                call,
                "api_error",
                f"the upstream stream broke: {type(exc).__name__}",
            )
            return
        if passthrough:
            if not translator.completed and not upstream_error:
                failed = True
                _log_stream_failure(recorder, "the upstream stream ended before it was complete")
                yield _fail(
                    translator,
                    passthrough,
                    call,
                    "api_error",
                    "the upstream stream ended before it was complete",
                )
        else:
            tail = translator.finish()
            if tail:
                yield tail
    finally:
        resp.release()
        if passthrough:
            translator.finish()  # fills in estimates when the stream broke
        usage = translator.usage
        if not usage.completion_tokens and sent_bytes:
            usage.completion_tokens = estimate_tokens(sent_bytes // 3)
            usage.estimated = True
        if not usage.prompt_tokens or (usage.estimated and usage.prompt_tokens == estimate):
            # The provider never reported input tokens: log the careful estimate.
            usage.prompt_tokens = estimate_prompt(call)
            usage.estimated = True
        recorder.finish(usage, translator.response_model)


#: How long the first translated piece may wait for the rest of its chunk.
_FIRST_BYTE_BUDGET_NS = 250_000
_INVALID: Any = object()


def _invalid_utf8_json(data: bytes) -> Any:
    """An event's data that orjson refused: parsed again with invalid UTF-8
    replaced (as a text decoder would have), else ``_INVALID``."""
    try:
        return orjson.loads(data.decode("utf-8", "replace"))
    except orjson.JSONDecodeError:
        return _INVALID


def _log_stream_failure(recorder: Recorder, what: str) -> None:
    target = recorder.target
    log.error(
        "request %s: %s: upstream %s failed mid-stream: %s",
        recorder.ctx.request_id,
        target.plugin_name,
        target.describe(),
        what,
    )


def _fail(translator: Any, passthrough: bool, call: ClientCall, kind: str, message: str) -> bytes:
    if not passthrough:
        return bytes(translator.fail(kind, message))
    if call.client_format == "gemini":
        from lockgate.llm.wire.gemini_client_stream import gemini_stream_error

        return gemini_stream_error(kind, message)
    if call.client_format == "anthropic":
        return encode_event("error", anthropic_error_body(kind, message))
    if call.client_format == "responses":
        return responses_stream_failure(translator, message)
    return encode_data(
        {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    )
