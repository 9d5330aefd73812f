"""The Python floor: an aiohttp process that does nothing but translate.

``python bench/minimal_translator.py PORT UPSTREAM_URL`` serves
``POST /v1/messages`` (Anthropic Messages), translates the request with
lockgate's pure converters, forwards it to an OpenAI-compatible
``UPSTREAM_URL`` (the emulator's ``/openai/v1/chat/completions``) with one
pooled aiohttp session, and translates the answer back, streamed chunk by
chunk. No routing, plugins, logging, limits or error mapping: whatever
lockgate spends beyond this is the cost of being a gateway.

Prints ``READY <url>`` once listening.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import orjson
from aiohttp import web

from lockgate.llm.sse import SSEDecoder
from lockgate.llm.wire.anthropic_openai import (
    OpenAIToAnthropicStream,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)

__all__ = ["build_app", "main"]

MODEL = "gpt-5-mini"
API_KEY = "sk-bench"
SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


def _openai_body(body: dict[str, object]) -> bytes:
    out = anthropic_to_openai_request(body, MODEL)
    # What the OpenAI provider does for gpt-5 models.
    if "max_tokens" in out:
        out["max_completion_tokens"] = out.pop("max_tokens")
    return orjson.dumps(out)


async def messages(request: web.Request) -> web.StreamResponse:
    raw = await request.content.read()  # not request.read(): that keeps a copy on the request
    body = orjson.loads(raw)
    stream = bool(body.get("stream"))
    estimate = len(raw) // 4
    payload = _openai_body(body)
    # A held stream keeps nothing of its request: 1,000 open Claude-Code-sized
    # streams would otherwise hold ~0.4 MB each (the bytes and the parsed dict).
    del raw, body
    session = request.app[SESSION]
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    async with session.post(request.app[UPSTREAM], data=payload, headers=headers) as upstream:
        del payload
        if not stream:
            answer, _usage = openai_to_anthropic_response(
                await upstream.json(loads=orjson.loads), MODEL
            )
            return web.Response(body=orjson.dumps(answer), content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        translator = OpenAIToAnthropicStream(MODEL, estimate)
        decoder = SSEDecoder()
        async for chunk in upstream.content.iter_any():
            # one write per network chunk, however many events it holds
            out = b"".join(
                translator.feed(orjson.loads(event.data))
                for event in decoder.feed(chunk)
                if event.data != "[DONE]"
            )
            if out:
                await response.write(out)
        tail = translator.finish()
        if tail:
            await response.write(tail)
        await response.write_eof()
        return response


async def _session(app: web.Application):  # type: ignore[no-untyped-def]
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
    app[SESSION] = aiohttp.ClientSession(connector=connector, auto_decompress=False)
    yield
    await app[SESSION].close()


def build_app(upstream: str) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[UPSTREAM] = upstream
    app.cleanup_ctx.append(_session)
    app.router.add_post("/v1/messages", messages)
    return app


async def serve(port: int, upstream: str) -> None:
    runner = web.AppRunner(build_app(upstream), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096, reuse_address=True)
    await site.start()
    print(f"READY http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(serve(port, upstream))
        return
    uvloop.run(serve(port, upstream))


if __name__ == "__main__":
    main()
