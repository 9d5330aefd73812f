"""One proxy worker process: serves the proxy port (shared with the other
workers through SO_REUSEPORT) and follows configuration changes through the
store's change notification (:meth:`~lockgate.store.ConfigStore.watch`).

When the store cannot be reached (a PostgreSQL outage), the worker keeps
serving the configuration it holds and asks again with backoff; the
configuration hot path never waits on the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Mapping
from typing import Any

from lockgate.config.state import GatewayState
from lockgate.proxy.malformed import MalformedRequestLog, MalformedRequestServer
from lockgate.proxy.plugin import PluginHandler
from lockgate.proxy.server import Gateway, compile_state
from lockgate.proxy.worker_env import WorkerEnv
from lockgate.store import ConfigStore, StoreUnavailable, open_store
from lockgate.usage import LedgerWriter, open_usage_storage

__all__ = ["serve_proxy", "worker_main"]

log = logging.getLogger("lockgate.worker")

#: Longest wait inside one ``watch`` call (the store polls or wakes sooner).
WATCH_TIMEOUT = 1.0
#: Backoff between attempts while the store is away.
RETRY_FIRST, RETRY_MAX = 0.25, 2.0
DRAIN_TIMEOUT = 30.0
#: The longest a usage ledger batch waits for another process's write lock (on the loop).
LEDGER_BUSY_TIMEOUT = 0.05


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _first_load(
    store: ConfigStore, worker_id: int, stop: asyncio.Event
) -> tuple[int, GatewayState] | None:
    """The configuration to start with; waits for the store if it is away."""
    delay = RETRY_FIRST
    warned = False
    while not stop.is_set():
        try:
            return await store.load()
        except StoreUnavailable as exc:
            if not warned:
                log.warning("worker %d: %s; waiting for it before serving", worker_id, exc)
                warned = True
        await _sleep_unless(stop, delay)
        delay = min(delay * 2, RETRY_MAX)
    return None


async def _follow(
    store: ConfigStore,
    gateway: Gateway,
    env: WorkerEnv,
    current: int,
    stop: asyncio.Event,
    served: Any,
) -> None:
    worker_id = env.worker_id
    away = False
    delay = RETRY_FIRST
    while not stop.is_set():
        try:
            newest = await store.watch(current, WATCH_TIMEOUT)
            if newest != current:
                version, state = await store.load()
                gateway.swap(compile_state(state, version, env))
                current = version
                if served is not None:
                    served.value = version
                log.info("worker %d: configuration version %d", worker_id, version)
            if away:
                log.info("worker %d: the store answers again", worker_id)
                away = False
            delay = RETRY_FIRST
            continue
        except StoreUnavailable as exc:
            if not away:
                log.warning(
                    "worker %d: %s; serving configuration version %d until it answers",
                    worker_id,
                    exc,
                    current,
                )
                away = True
        except Exception:
            log.exception("worker %d: could not load the configuration", worker_id)
        await _sleep_unless(stop, delay)
        delay = min(delay * 2, RETRY_MAX)


def _ledger(store: ConfigStore, worker_id: int) -> LedgerWriter | None:
    try:
        return LedgerWriter(open_usage_storage(store, busy_timeout=LEDGER_BUSY_TIMEOUT))
    except NotImplementedError as exc:
        if worker_id == 0:
            log.warning("usage ledger off: %s", exc)
        return None


async def serve_proxy(
    host: str,
    port: int,
    store_url: str,
    prefix: str,
    worker_id: int,
    stop: asyncio.Event,
    plugins: Mapping[str, type[PluginHandler]],
    served: Any = None,
    usage_ledger: bool = False,
) -> None:
    """Serve until ``stop``. ``served`` (a shared ``multiprocessing.Value``,
    -1 until then) holds the configuration version this worker serves, set
    once it listens and after every swap: the supervisor's readiness. With
    ``usage_ledger`` every AI request leaves a row in the usage ledger."""
    store = open_store(store_url)
    env = WorkerEnv(worker_id, plugins, prefix)
    if usage_ledger:
        env.ledger = _ledger(store, worker_id)
    first = await _first_load(store, worker_id, stop)
    if first is None:
        if env.ledger is not None:
            await env.ledger.close()
        await store.close()
        return
    version, state = first
    gateway = Gateway(env, compile_state(state, version, env))
    # What exists now lives as long as the worker: keep it out of every future collection.
    gc.freeze()
    server = MalformedRequestServer(
        gateway.handle,
        access_log=None,
        handler_cancellation=True,
        # One line per malformed request, quoting none of its bytes (they may hold a key).
        logger=MalformedRequestLog(logging.getLogger("lockgate.proxy.http")),
    )
    loop = asyncio.get_running_loop()
    sock_server = await loop.create_server(server, host, port, reuse_port=True, backlog=2048)
    if served is not None:
        served.value = version
    follower = asyncio.create_task(_follow(store, gateway, env, version, stop, served))
    await stop.wait()
    sock_server.close()
    await gateway.drain(DRAIN_TIMEOUT)
    await server.shutdown(1.0)
    follower.cancel()
    # Let the cancelled follower finish (a driver may cancel its query on the way out).
    with contextlib.suppress(asyncio.CancelledError):
        await follower
    await gateway.compiled.close()
    await env.close()
    await store.close()


async def worker_main(
    host: str,
    port: int,
    store_url: str,
    prefix: str,
    worker_id: int,
    plugins: Mapping[str, type[PluginHandler]],
    served: Any = None,
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
    await serve_proxy(host, port, store_url, prefix, worker_id, stop, plugins, served, usage_ledger)
