"""Several upstream calls for one client request, answered as one.

Bedrock's Titan Text Embeddings take one text per call, and an OpenAI
client embeds a list in one request: each text is its own signed call
(a few at a time, so that a long list is no burst), and the answers are
put together in the client's order. Any call that fails fails the attempt,
with that call's error, as a single call's would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import yarl
from multidict import CIMultiDict

from lockgate.llm.providers.base import ProviderError
from lockgate.plugins.ai_proxy.exchange import (
    AttemptFailed,
    ClientCall,
    configuration_error,
)
from lockgate.plugins.ai_proxy.recording import Recorder
from lockgate.plugins.ai_proxy.target import Target
from lockgate.proxy.context import RequestContext, UpstreamResponse
from lockgate.proxy.upstream import connection_error_text
from lockgate.proxy.worker_env import WorkerEnv

__all__ = ["post_each"]

#: Calls in flight at once for one request.
CONCURRENCY = 4


async def post_each(
    ctx: RequestContext,
    env: WorkerEnv,
    target: Target,
    call: ClientCall,
    model: str,
    url: str,
    headers: dict[str, str],
    payloads: list[bytes],
    timeout: aiohttp.ClientTimeout,
) -> UpstreamResponse:
    """Posts every payload to ``url`` (each signed on its own) and answers
    the client with the provider's :meth:`embeddings_answer` of them all."""
    provider = target.provider
    gate = asyncio.Semaphore(CONCURRENCY)
    started = time.perf_counter_ns()

    async def one(payload: bytes) -> tuple[dict[str, Any], CIMultiDict[str]]:
        signed = dict(headers)
        try:
            await provider.sign(url, signed, payload, env.caches)
        except ProviderError as exc:
            raise configuration_error(ctx, target, call, exc) from exc
        async with gate:
            try:
                async with env.session.post(
                    yarl.URL(url, encoded=True), data=payload, headers=signed, timeout=timeout
                ) as resp:
                    body = await resp.read()
                    status, answered = resp.status, CIMultiDict(resp.headers)
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise AttemptFailed(
                    "timeout", 504, b"", f"{provider.name} did not answer in time"
                ) from exc
            except aiohttp.ClientError as exc:
                host = yarl.URL(url, encoded=True)
                said = connection_error_text(exc, host.scheme, host.host or "", host.port or 0)
                raise AttemptFailed("error", 502, b"", said) from exc
        if status >= 400:
            status_out, error = provider.upstream_error(status, body, answered)
            raise AttemptFailed(
                f"http_{status_out}",
                status_out,
                error,
                f"{provider.name} answered {status}",
                answered,
            )
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise AttemptFailed(
                "error", 502, body[:500], f"{provider.name} answered invalid JSON"
            ) from exc
        return data, answered

    tasks = [asyncio.ensure_future(one(p)) for p in payloads]
    try:
        answers = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    ctx.upstream_headers_ns = time.perf_counter_ns()
    recorder = Recorder(ctx, target, call, model, started)
    recorder.first_token()
    answered = provider.embeddings_answer(list(answers), model, call.parsed())
    assert answered is not None, "only providers that answer embeddings fan out"
    translated, usage = answered
    out = orjson.dumps(translated)
    recorder.finish(usage, model, out)

    async def once() -> AsyncIterator[bytes]:
        yield out

    out_headers: CIMultiDict[str] = CIMultiDict({"Content-Type": "application/json"})
    return UpstreamResponse(200, out_headers, once(), None, len(out), out)
