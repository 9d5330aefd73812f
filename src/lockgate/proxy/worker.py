"""One proxy worker process: serves the proxy port (shared with the other
workers through SO_REUSEPORT) and follows configuration changes by polling
the store's version number."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Mapping

from aiohttp import web

from lockgate.proxy.plugin import PluginHandler
from lockgate.proxy.server import Gateway, compile_state
from lockgate.proxy.worker_env import WorkerEnv
from lockgate.store import open_store
from lockgate.usage import LedgerWriter, open_usage_storage

__all__ = ["POLL_INTERVAL", "serve_proxy", "worker_main"]

log = logging.getLogger("lockgate.worker")

#: How often a worker checks for a new configuration (changes reach it within this time).
POLL_INTERVAL = 0.2
DRAIN_TIMEOUT = 30.0
#: The longest a usage ledger batch waits for another process's write lock (on the loop).
LEDGER_BUSY_TIMEOUT = 0.05


async def serve_proxy(
    host: str,
    port: int,
    prefix: str,
    worker_id: int,
    stop: asyncio.Event,
    plugins: Mapping[str, type[PluginHandler]],
    usage_ledger: bool = False,
) -> None:
    store = open_store(prefix)
    env = WorkerEnv(worker_id, plugins)
    if usage_ledger:
        env.ledger = LedgerWriter(open_usage_storage(store, busy_timeout=LEDGER_BUSY_TIMEOUT))
    version, state = await store.load()
    gateway = Gateway(env, compile_state(state, version, env))
    # What exists now lives as long as the worker: keep it out of every future collection.
    gc.freeze()
    server = web.Server(gateway.handle, access_log=None, handler_cancellation=True)
    loop = asyncio.get_running_loop()
    sock_server = await loop.create_server(server, host, port, reuse_port=True, backlog=2048)

    async def follow() -> None:
        current = version
        while not stop.is_set():
            try:
                newest = await store.version()
                if newest != current:
                    v, st = await store.load()
                    gateway.swap(compile_state(st, v, env))
                    current = v
                    log.info("worker %d: configuration version %d", worker_id, v)
            except Exception:
                log.exception("worker %d: could not load the configuration", worker_id)
            try:
                await asyncio.wait_for(stop.wait(), POLL_INTERVAL)
            except TimeoutError:
                pass

    follower = asyncio.create_task(follow())
    await stop.wait()
    sock_server.close()
    await gateway.drain(DRAIN_TIMEOUT)
    await server.shutdown(1.0)
    follower.cancel()
    await gateway.compiled.close()
    await env.close()
    await store.close()


async def worker_main(
    host: str,
    port: int,
    prefix: str,
    worker_id: int,
    plugins: Mapping[str, type[PluginHandler]],
    usage_ledger: bool = False,
) -> None:
    """A worker process's life: serve until SIGTERM or SIGINT, then drain.
    ``plugins`` (the plugin registry's classes) are handed in by the command
    line, which owns the process; with ``usage_ledger`` every AI request
    leaves a row in the usage ledger."""
    # Each request allocates many short-lived containers (parsed bodies, events);
    # CPython's default threshold (700) would run a collection every few requests.
    gc.set_threshold(50_000, 20, 100)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve_proxy(host, port, prefix, worker_id, stop, plugins, usage_ledger)
