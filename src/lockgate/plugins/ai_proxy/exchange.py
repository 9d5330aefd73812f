"""One call to an LLM provider on behalf of a client: build the upstream
request in the provider's format, send it, and give the client its answer in
its own format, streamed incrementally, while recording usage for the log.

:class:`AttemptFailed` is raised for failures that a balancer may retry on
another target (connection errors, timeouts, error statuses), always before
a byte has reached the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import yarl
from multidict import CIMultiDict

from lockgate import __version__
from lockgate.llm.providers.base import Endpoint, ProviderError
from lockgate.llm.wire.anthropic import (
    anthropic_error_body,
    usage_from_anthropic,
)
from lockgate.llm.wire.errors import (
    UntranslatableRequest,
    extract_upstream_message,
    upstream_error_to_anthropic,
    upstream_error_to_openai,
)
from lockgate.llm.wire.openai import (
    openai_error_body,
    usage_from_openai,
)
from lockgate.llm.wire.rate_limit_headers import client_rate_limit_headers, google_retry_after
from lockgate.llm.wire.responses import (
    usage_from_responses,
)
from lockgate.llm.wire.responses_request import stateless_problem
from lockgate.plugins.ai_proxy.recording import Recorder, estimate_prompt
from lockgate.plugins.ai_proxy.streaming import relay_stream, stream_translator
from lockgate.plugins.ai_proxy.target import Target
from lockgate.proxy.context import Exit, RequestContext, UpstreamResponse
from lockgate.proxy.upstream import connection_error_text
from lockgate.proxy.worker_env import WorkerEnv

__all__ = [
    "AttemptFailed",
    "ClientCall",
    "client_error",
    "run_attempt",
    "upstream_failure",
]

log = logging.getLogger("lockgate.ai")

USER_AGENT = f"lockgate/{__version__}"
#: Response headers of the provider never passed to the client.
_DROP_RESPONSE_HEADERS = frozenset(
    (
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "set-cookie",
        "alt-svc",
        "server",
        "date",
    )
)


class AttemptFailed(Exception):
    """A target failed before answering. ``criterion`` names the failover criterion it meets."""

    def __init__(
        self,
        criterion: str,
        status: int,
        body: bytes,
        message: str,
        headers: CIMultiDict[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.criterion = criterion
        self.status = status
        self.body = body
        self.message = message
        #: The provider's response headers (retry-after, rate limits), when it answered.
        self.headers: CIMultiDict[str] = headers if headers is not None else CIMultiDict()


@dataclass(slots=True)
class ClientCall:
    """The client's request, parsed once whatever the number of attempts."""

    operation: str  # "chat", "count_tokens", "embeddings"
    body: dict[str, Any]
    raw: bytes
    stream: bool
    requested_model: str | None
    client_format: str
    include_usage: bool = False
    tried: list[dict[str, Any]] = field(default_factory=list)
    #: Set once the upstream accepted the request and the parsed body was let go.
    released: bool = False
    size_estimate: int = 0
    #: The prompt's estimated tokens, once worked out (recording.estimate_prompt).
    prompt_estimate: int | None = None
    #: Set while a streamed call waits for the upstream without its parsed body.
    parsed_dropped: bool = False
    #: The gateway's id of the request (``X-Kong-Request-Id``) and when it
    #: arrived (epoch seconds): what a translated answer is identified and dated by.
    request_id: str = ""
    started_at: float = 0.0

    def parsed(self) -> dict[str, Any]:
        """The request body as a dict; parsed again from the raw bytes when it
        was let go while the upstream was working (a retry on another target)."""
        if self.parsed_dropped and self.raw:
            body: dict[str, Any] = orjson.loads(self.raw)
            return body
        return self.body

    def drop_parsed(self) -> None:
        """Let go of the parsed body once the upstream request is encoded: a
        Claude Code request parses into ~3x its 90 KB, and a streamed call
        may wait seconds for the provider's first byte."""
        self.body = {}
        self.parsed_dropped = True

    def restore_parsed(self) -> None:
        """Before another attempt (failover): the parsed body again."""
        if self.parsed_dropped:
            self.body = self.parsed()
            self.parsed_dropped = False

    def release(self, keep_raw: bool) -> None:
        """Drop the request body while a response streams: a thousand open
        Claude Code streams would otherwise hold ~370 KB each (raw + parsed)."""
        self.size_estimate = max(1, len(self.raw) // 4)
        self.body = {}
        if not keep_raw:
            self.raw = b""
        self.released = True


def client_error(
    client_format: str, status: int, message: str, error_type: str | None = None
) -> Exit:
    """An error answered by the gateway itself, in the client's format."""
    if client_format == "gemini":
        from lockgate.plugins.ai_proxy.gemini_call import gemini_client_error

        return gemini_client_error(status, message)
    if client_format == "anthropic":
        from lockgate.llm.wire.errors import error_type_for_status

        kind = error_type or error_type_for_status(status)
        return Exit(status, anthropic_error_body(kind, message))
    kind = error_type or ("invalid_request_error" if status < 500 else "server_error")
    return Exit(status, openai_error_body(message, kind))


def _apply_overrides(target: Target, call: ClientCall, body: dict[str, Any]) -> dict[str, Any]:
    overrides = target.overrides
    if overrides:
        body = dict(body)
        for key, value in overrides.items():
            if key == "top_k" and call.client_format in ("openai", "responses"):
                continue
            if key == "max_tokens":
                # The operator's max_tokens is a ceiling: a client asking for
                # less gets what it asked, one asking for nothing gets the ceiling.
                field = (
                    "max_completion_tokens"
                    if call.client_format == "openai" and "max_completion_tokens" in body
                    else "max_output_tokens"
                    if call.client_format == "responses"
                    else "max_tokens"
                )
                asked = body.get(field)
                if not isinstance(asked, int) or isinstance(asked, bool) or asked > value:
                    body[field] = value
                continue
            body[key] = value
    return body


def _upstream_body(
    target: Target, call: ClientCall, model: str, client_headers: Any = None
) -> bytes:
    conv = target.conversion
    parsed = call.parsed()
    if call.client_format == "gemini":
        from lockgate.plugins.ai_proxy.gemini_call import gemini_upstream_body

        payload, parsed = gemini_upstream_body(target, call, parsed, model)
        if payload is not None:
            return payload  # else a token count, to be counted as an Anthropic body
    if call.operation == "count_tokens":
        if target.provider.wire == "gemini":
            from lockgate.llm.wire.anthropic_gemini import anthropic_to_gemini_count_tokens_request
            from lockgate.llm.wire.tool_identifiers import shorten_gemini_tool_names

            counted = shorten_gemini_tool_names(anthropic_to_gemini_count_tokens_request(parsed))
            if not getattr(target.provider, "vertex", True):
                # The public API wants the request wrapped, with the model named.
                counted = {"generateContentRequest": {"model": f"models/{model}", **counted}}
            return orjson.dumps(counted)
        if target.provider.wire == "bedrock":
            from lockgate.llm.wire.bedrock import anthropic_to_count_tokens_request

            return orjson.dumps(anthropic_to_count_tokens_request(parsed, model))
        body = dict(parsed)
        body["model"] = model
        return orjson.dumps(target.provider.prepare_count_tokens(body, model))
    if conv.passthrough:
        if (
            not target.overrides
            and not target.provider.body_credentials()
            and not target.provider.output_over_limit(parsed, model)
        ):
            raw = target.provider.passthrough_body(call.raw, parsed, model)
            if raw is not None:
                return raw  # byte-faithful: nothing (or only the provider's fixed edits) to change
        body = _apply_overrides(target, call, parsed)
        if body is parsed:
            body = dict(body)
        body["model"] = model
        body = target.provider.prepare_chat(body, model)
    else:
        assert conv.request is not None
        body = conv.request(_apply_overrides(target, call, parsed), model)
        if conv.upstream not in ("gemini", "bedrock"):  # their URL names the model
            body["model"] = model
        body = target.provider.prepare_chat(body, model)
        body = target.provider.with_client_headers(body, model, client_headers)
    extra = target.provider.body_credentials()
    if extra:
        body.update(extra)
    return orjson.dumps(body)


async def _headers_and_url(
    env: WorkerEnv, target: Target, call: ClientCall, ctx: RequestContext, endpoint: Endpoint
) -> tuple[dict[str, str], str]:
    client_headers = ctx.request.headers
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if call.stream else "application/json",
        "User-Agent": USER_AGENT,
    }
    headers.update(target.provider.base_headers(client_headers))
    try:
        auth_headers, auth_query = await target.provider.credentials(env.caches)
        _check_header_values(auth_headers)
    except ProviderError as exc:
        raise configuration_error(ctx, target, call, exc) from exc
    for name, value in auth_headers.items():
        if target.allow_override and name in client_headers:
            value = client_headers[name]
        headers[name] = value
    url = endpoint.url
    query_parts = []
    # A Gemini client's query string holds its own API key (?key=): never passed on.
    if (
        target.provider.forwards_query
        and ctx.request.query_string
        and call.client_format != "gemini"
    ):
        query_parts.append(ctx.request.query_string)
    for name, value in auth_query.items():
        if target.allow_override and name in ctx.request.query:
            value = ctx.request.query[name]
        from urllib.parse import quote

        query_parts.append(f"{quote(name)}={quote(value, safe='')}")
    if query_parts:
        url += ("&" if "?" in url else "?") + "&".join(query_parts)
    return headers, url


def _check_header_values(headers: dict[str, str]) -> None:
    """A configured credential that cannot travel in a header (a multi-line
    JSON key pasted into ``header_value``) is a configuration error, not a crash."""
    for value in headers.values():
        if "\n" in value or "\r" in value:
            raise ProviderError(
                500, "contains a line break, which no HTTP header can carry", "auth.header_value"
            )
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise ProviderError(
                500,
                "contains characters an HTTP header cannot carry (not Latin-1)",
                "auth.header_value",
            ) from exc


def configuration_error(
    ctx: RequestContext, target: Target, call: ClientCall, exc: ProviderError
) -> Exit:
    """A request-time configuration failure (credentials that cannot be used),
    logged with the request id and answered with a 5xx in the client's format;
    the message names the plugin and the field, never the secret."""
    field = f"{target.config_path}.{exc.field}: " if exc.field else ""
    message = f"{target.plugin_name}: {field}{exc.message}"
    log.error("request %s: %s", ctx.request_id, message)
    answer = client_error(
        call.client_format,
        exc.status,
        message,
        "api_error" if call.client_format == "anthropic" else None,
    )
    if not exc.retryable:
        # Both SDKs (and so Claude Code) obey this: retrying a broken
        # credential ten times over a minute only hides the message.
        answer.headers["x-should-retry"] = "false"
    return answer


def _criterion(status: int) -> str:
    return f"http_{status}"


async def run_attempt(
    ctx: RequestContext,
    env: WorkerEnv,
    target: Target,
    call: ClientCall,
    *,
    timeouts: tuple[float, float] | None = None,
) -> UpstreamResponse:
    """One attempt on ``target``. Raises :class:`AttemptFailed` before any byte
    reaches the client, or returns the response for the client. A failed
    attempt is logged (one line, with the request id) whether or not a
    balancer tries another target."""
    try:
        return await _attempt(ctx, env, target, call, timeouts)
    except AttemptFailed as failure:
        _log_attempt_failure(ctx, target, failure)
        raise


def _log_attempt_failure(ctx: RequestContext, target: Target, failure: AttemptFailed) -> None:
    said = extract_upstream_message(failure.body)[:300] if failure.body else ""
    level = (
        logging.WARNING if 400 <= failure.status < 500 and failure.status != 429 else logging.ERROR
    )
    log.log(
        level,
        "request %s: %s: upstream %s failed: %s%s",
        ctx.request_id,
        target.plugin_name,
        target.describe(),
        failure.message,
        f": {said}" if said else "",
    )


async def _attempt(
    ctx: RequestContext,
    env: WorkerEnv,
    target: Target,
    call: ClientCall,
    timeouts: tuple[float, float] | None,
) -> UpstreamResponse:
    call.restore_parsed()
    requested = call.requested_model
    model = target.resolve_model(requested)
    if not model:
        raise client_error(
            call.client_format,
            400,
            "model parameter not found in request, nor in gateway configuration",
        )
    provider = target.provider
    if call.client_format == "responses" and not target.conversion.passthrough:
        _check_stateless(call, provider.name)
    if call.operation == "count_tokens":
        endpoint = provider.count_tokens_endpoint(model)
        if endpoint is None:
            return _local_count(ctx, target, call)
    elif call.operation == "embeddings":
        endpoint = provider.embeddings_endpoint(model)
        if endpoint is None:
            raise client_error(
                call.client_format,
                400,
                f"provider '{provider.name}' does not serve embeddings in lockgate",
            )
    else:
        endpoint = target.chat_endpoint(model, call.stream)
    payloads: list[bytes] = []
    try:
        if call.operation == "embeddings":
            # Embeddings in the provider's own body, one per call (Bedrock).
            bodies = provider.embeddings_bodies(call.parsed(), model)
            payloads = [orjson.dumps(b) for b in bodies or ()]
        payload = (
            payloads[0] if payloads else _upstream_body(target, call, model, ctx.request.headers)
        )
    except UntranslatableRequest as exc:
        raise client_error(call.client_format, 400, str(exc)) from exc
    translator: Any = None
    estimate = 0
    if call.stream and call.operation == "chat":
        translator, estimate = stream_translator(target, call, model)
        call.drop_parsed()
    headers, url = await _headers_and_url(env, target, call, ctx, endpoint)
    try:
        await provider.sign(url, headers, payload, env.caches)
    except ProviderError as exc:
        raise configuration_error(ctx, target, call, exc) from exc
    ctx.upstream_scheme, ctx.upstream_host, ctx.upstream_port = (
        endpoint.scheme,
        endpoint.host,
        endpoint.port,
    )
    path, _, query = url.split("://", 1)[1].partition("/")[2].partition("?")
    ctx.upstream_path = "/" + path
    ctx.upstream_query = query if provider.forwards_query else ""
    tried = {
        "provider": provider.name,
        "model": model,
        "host": endpoint.host,
        "port": endpoint.port,
        "upstream_scheme": endpoint.scheme,
        "upstream_uri": ctx.upstream_uri
        if provider.forwards_query
        else endpoint.path.split("?")[0],
        "route_type": target.route_type,
        "ip": endpoint.host,
    }
    call.tried.append(tried)
    service = ctx.service or {}
    connect_t, read_t = timeouts or (
        service.get("connect_timeout", 60000) / 1000,
        service.get("read_timeout", 60000) / 1000,
    )
    timeout = aiohttp.ClientTimeout(sock_connect=connect_t, sock_read=read_t)
    if len(payloads) > 1:
        from lockgate.plugins.ai_proxy.fan_out import post_each

        return await post_each(ctx, env, target, call, model, url, headers, payloads, timeout)
    started = time.perf_counter_ns()
    ctx.upstream_started_ns = started
    try:
        resp = await env.session.post(
            # A signed URL goes out exactly as signed (yarl would unescape "%3A").
            yarl.URL(url, encoded=True) if provider.wire == "bedrock" else url,
            data=payload,
            headers=headers,
            timeout=timeout,
            auto_decompress=True,
        )
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        where = f"{endpoint.host}:{endpoint.port}"
        said = (
            f"could not connect to {where} within {connect_t:g} s (connect_timeout)"
            if isinstance(exc, aiohttp.ConnectionTimeoutError)
            else f"{where} did not answer within {read_t:g} s (read_timeout)"
        )
        raise AttemptFailed("timeout", 504, b"", said) from exc
    except aiohttp.ClientError as exc:
        raise AttemptFailed(
            "error",
            502,
            b"",
            connection_error_text(exc, endpoint.scheme, endpoint.host, endpoint.port),
        ) from exc
    ctx.upstream_headers_ns = time.perf_counter_ns()
    if resp.status >= 400:
        try:
            body = await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            body = b""
        finally:
            resp.release()
        status, body = provider.upstream_error(resp.status, body, resp.headers)
        raise AttemptFailed(
            _criterion(status),
            status,
            body,
            f"{provider.name} answered {resp.status}",
            CIMultiDict(resp.headers),
        )
    out_headers: CIMultiDict[str] = CIMultiDict()
    for name, value in resp.headers.items():
        if name.lower() not in _DROP_RESPONSE_HEADERS and not name.lower().startswith(
            ("anthropic-ratelimit", "x-ratelimit", "openai-", "x-request-id", "request-id", "cf-")
        ):
            out_headers.add(name, value)
    out_headers.update(client_rate_limit_headers(resp.headers, call.client_format))
    recorder = Recorder(ctx, target, call, model, started)
    if call.operation == "count_tokens":
        return await _count_response(ctx, target, call, resp, out_headers)
    content_type = resp.headers.get("Content-Type", "")
    streaming = call.stream and (
        "text/event-stream" in content_type or "application/vnd.amazon.eventstream" in content_type
    )
    if streaming:
        out_headers["Content-Type"] = (
            "text/event-stream; charset=utf-8"
            if call.client_format in ("openai", "responses")
            else "text/event-stream"
        )
        out_headers["Cache-Control"] = "no-cache"
        call.release(keep_raw=target.logging.log_payloads)
        ctx.body = None
        chunks = relay_stream(resp, target, call, recorder, translator, estimate)
        if call.client_format == "gemini" and ctx.request.query.get("alt") != "sse":
            from lockgate.llm.wire.gemini_client_stream import json_array_stream

            # Without alt=sse Google streams one JSON array; upstreams are always asked for SSE.
            out_headers["Content-Type"] = "application/json; charset=UTF-8"
            chunks = json_array_stream(chunks)
        return UpstreamResponse(200, out_headers, chunks, resp.release)
    return await _oneshot(resp, target, call, recorder, out_headers)


def _check_stateless(call: ClientCall, provider: str) -> None:
    """A Responses request that needs stored state gets a 400 naming the
    field when its upstream is translated (lockgate keeps no state)."""
    problem = stateless_problem(call.parsed(), provider)
    if problem is not None:
        raise Exit(
            400,
            openai_error_body(
                problem.message, "invalid_request_error", problem.code, problem.param
            ),
        )


def upstream_failure(call: ClientCall, failure: AttemptFailed) -> Exit:
    """The client's answer when no (further) target can be tried."""
    if call.client_format == "gemini":
        from lockgate.plugins.ai_proxy.gemini_call import gemini_upstream_failure

        return gemini_upstream_failure(failure, back_off_headers(call, failure))
    if failure.criterion in ("error", "timeout"):
        status = 504 if failure.criterion == "timeout" else 502
        message = f"upstream LLM provider failed: {failure.message}"
        if call.client_format == "anthropic":
            return Exit(status, anthropic_error_body("api_error", message))
        return Exit(status, openai_error_body(message, "server_error"))
    if call.client_format == "anthropic":
        status, body = upstream_error_to_anthropic(failure.status, failure.body)
    else:
        status, body = upstream_error_to_openai(failure.status, failure.body)
    return Exit(status, body, back_off_headers(call, failure))


def back_off_headers(call: ClientCall, failure: AttemptFailed) -> dict[str, str]:
    """retry-after and the rate-limit headers of a refusal, named for the client,
    so that Claude Code and the SDKs wait as long as the provider asked."""
    headers = client_rate_limit_headers(failure.headers, call.client_format)
    if "retry-after" not in headers:
        delay = google_retry_after(failure.body)
        if delay is not None:
            headers["retry-after"] = delay
    return headers


async def _oneshot(
    resp: aiohttp.ClientResponse,
    target: Target,
    call: ClientCall,
    recorder: Recorder,
    headers: CIMultiDict[str],
) -> UpstreamResponse:
    try:
        raw = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise AttemptFailed(
            "error", 502, b"", f"the response from {target.provider_name} was cut: {exc}"
        ) from exc
    finally:
        resp.release()
    recorder.first_token()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AttemptFailed(
            "error", 502, raw[:500], f"{target.provider_name} answered invalid JSON"
        ) from exc
    conv = target.conversion
    answered = (
        target.provider.embeddings_answer([(data, resp.headers)], recorder.model, call.parsed())
        if call.operation == "embeddings"
        else None
    )
    response_model: str | None
    if answered is not None:
        translated, usage = answered
        body = orjson.dumps(translated)
        response_model = recorder.model
    elif conv.passthrough:
        body = raw
        if conv.upstream == "anthropic":
            usage = usage_from_anthropic(data.get("usage") or {})
        elif conv.upstream == "openai":
            usage = usage_from_openai(data.get("usage") or {})
        elif conv.upstream == "responses":
            usage = usage_from_responses(data.get("usage"))
        else:
            from lockgate.llm.wire.gemini import usage_from_gemini

            usage = usage_from_gemini(data.get("usageMetadata") or {})
        response_model = (
            data.get("modelVersion" if conv.upstream == "gemini" else "model")
            if isinstance(data, dict)
            else None
        )
    else:
        assert conv.response is not None
        translated, usage = conv.response(data, recorder.model, call.parsed())
        body = orjson.dumps(translated)
        response_model = translated.get("model")
    headers["Content-Type"] = "application/json"
    recorder.finish(usage, response_model, body)

    async def once() -> AsyncIterator[bytes]:
        yield body

    return UpstreamResponse(200, headers, once(), None, len(body), body)


def _local_count(ctx: RequestContext, target: Target, call: ClientCall) -> UpstreamResponse:
    count = estimate_prompt(call)
    body = orjson.dumps(
        {"totalTokens": count} if call.client_format == "gemini" else {"input_tokens": count}
    )

    async def once() -> AsyncIterator[bytes]:
        yield body

    headers: CIMultiDict[str] = CIMultiDict(
        {"Content-Type": "application/json", "X-Lockgate-Token-Count": "estimate"}
    )
    ctx.upstream_host = ""
    return UpstreamResponse(200, headers, once(), None)


async def _count_response(
    ctx: RequestContext,
    target: Target,
    call: ClientCall,
    resp: aiohttp.ClientResponse,
    headers: CIMultiDict[str],
) -> UpstreamResponse:
    try:
        raw = await resp.read()
    finally:
        resp.release()
    ctx.upstream_done_ns = time.perf_counter_ns()
    if call.client_format == "gemini":
        if target.provider.wire != "gemini":  # Google's own answer goes through as it came
            data = orjson.loads(raw)
            counted = data.get(
                "inputTokens" if target.provider.wire == "bedrock" else "input_tokens"
            )
            raw = orjson.dumps({"totalTokens": int(counted or 0)})
    elif target.provider.wire == "gemini":
        data = orjson.loads(raw)
        raw = orjson.dumps({"input_tokens": int(data.get("totalTokens", 0))})
    elif target.provider.wire == "bedrock":
        data = orjson.loads(raw)
        raw = orjson.dumps({"input_tokens": int(data.get("inputTokens", 0))})
    headers["Content-Type"] = "application/json"

    async def once() -> AsyncIterator[bytes]:
        yield raw

    return UpstreamResponse(200, headers, once(), None)


async def sleep_backoff(attempt: int) -> None:
    await asyncio.sleep(min(0.05 * (2**attempt), 1.0))
