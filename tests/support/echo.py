"""An httpbin-like echo upstream for proxy tests (in-process, real socket)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from tests.support.processes import free_port

__all__ = ["echo_server"]


async def _anything(request: web.Request) -> web.StreamResponse:
    if request.path.startswith("/slow"):
        await asyncio.sleep(float(request.query.get("secs", "5")))
    if request.path.startswith("/status/"):
        return web.json_response(
            {"status": int(request.path.rsplit("/", 1)[1])},
            status=int(request.path.rsplit("/", 1)[1]),
        )
    if request.path.startswith("/stream"):
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        for i in range(int(request.query.get("n", "5"))):
            await resp.write(f"chunk {i}\n".encode())
            await asyncio.sleep(float(request.query.get("gap", "0.01")))
        await resp.write_eof()
        return resp
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "query": request.query_string,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
    )


@contextmanager
def echo_server() -> Iterator[str]:
    """Runs on its own thread and loop so that sync tests can use it too."""
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", _anything)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runner_box.append(runner)
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:

        async def stop() -> None:
            await runner_box[0].cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
