"""``lockgate start|stop|status``: the supervisor process.

The supervisor serves the Admin API and starts the proxy workers (separate
processes sharing the proxy port through SO_REUSEPORT); it restarts a worker
that dies, and on SIGTERM or Ctrl-C lets every worker drain its in-flight
requests before exiting 0.

Before anything listens, ``start`` checks that the store answers and applies
its pending schema migrations (PostgreSQL: under an advisory lock, so nodes
starting together are safe), so a wrong ``--store`` fails at once with the
reason on the terminal. Each worker tells the supervisor when it listens and
holds a configuration; ``GET /status/ready`` answers from that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from lockgate.cli.roles import NodeRole, cluster_problem

__all__ = ["DATA_PLANE_STATUS_LISTEN", "Settings", "split_listen", "start", "status", "stop"]

#: A data plane's status listener when --status-listen is not given.
DATA_PLANE_STATUS_LISTEN = "127.0.0.1:8100"

log = logging.getLogger("lockgate")


#: A data plane's status listener when --status-listen names none.
DATA_PLANE_STATUS = "127.0.0.1:8100"


@dataclass
class Settings:
    proxy_listen: str
    admin_listen: str
    workers: int
    prefix: str
    daemon: bool = False
    #: Store URL (may hold a password: show ``redact_url(store)`` only); empty: SQLite in the prefix.
    store: str = ""
    #: Hybrid mode (Kong's names): "traditional", "control_plane" or "data_plane".
    role: str = "traditional"
    cluster_listen: str = "0.0.0.0:8005"
    cluster_control_plane: str = ""
    cluster_cert: str = ""
    cluster_cert_key: str = ""
    #: /metrics and /status/ready apart from the Admin API: a data plane's only
    #: listener (empty: DATA_PLANE_STATUS_LISTEN); on other nodes empty means none.
    status_listen: str = ""
    #: Keep a usage ledger row for every AI request.
    usage_ledger: bool = True
    #: Delete ledger rows older than this many days (0: keep them all).
    usage_retention_days: int = 30

    @property
    def store_url(self) -> str:
        from lockgate.store import default_store_url

        return self.store or default_store_url(self.prefix)

    @property
    def pid_file(self) -> str:
        return os.path.join(self.prefix, "lockgate.pid")

    @property
    def log_file(self) -> str:
        return os.path.join(self.prefix, "logs", "error.log")


def split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"Error: invalid listen address '{value}' (expected HOST:PORT)")
    return host.strip("[]"), int(port)


def _read_pid(pid_file: str) -> int | None:
    try:
        with open(pid_file) as fh:
            pid = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start(settings: Settings) -> int:
    os.makedirs(os.path.join(settings.prefix, "logs"), exist_ok=True)
    running = _read_pid(settings.pid_file)
    if running:
        print(
            f"Error: lockgate is already running in {settings.prefix} (pid {running})",
            file=sys.stderr,
        )
        return 1
    role = settings.role
    phost, pport = split_listen(settings.proxy_listen)
    ahost, aport = split_listen(
        (settings.status_listen or DATA_PLANE_STATUS_LISTEN)
        if role == "data_plane"
        else settings.admin_listen
    )
    listens = [(phost, pport, "proxy"), (ahost, aport, "Admin API")]
    if settings.status_listen and role != "data_plane":
        listens.append((*split_listen(settings.status_listen), "status listener"))
    if role == "control_plane":
        listens = [(ahost, aport, "Admin API"), (*split_listen(settings.cluster_listen), "cluster")]
        if settings.status_listen:
            listens.append((*split_listen(settings.status_listen), "status listener"))
    elif role == "data_plane":
        listens = [(phost, pport, "proxy"), (ahost, aport, "status")]
    if settings.status_listen and role != "data_plane":
        listens.append((*split_listen(settings.status_listen), "status listener"))
    problem = cluster_problem(settings)
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    for host, port, what in listens:
        if not _port_free(host, port):
            print(
                f"Error: cannot listen on {host}:{port} for the {what}: address already in use",
                file=sys.stderr,
            )
            return 1
    # A data plane has no store of its own: only the cache of what its control plane sent.
    migrated = [] if role == "data_plane" else _prepare_store(settings.store_url)
    if migrated is None:
        return 1
    if settings.daemon:
        with contextlib.suppress(OSError):
            os.unlink(settings.pid_file)  # stale: its process is gone (checked above)
        _daemonize(settings.log_file, settings.pid_file)
    from lockgate.cli.logs import run_loop, setup_logging

    setup_logging(settings.log_file, foreground=not settings.daemon)
    for name in migrated:
        log.info("applied store migration %s", name)
    code = 0

    async def main() -> None:
        nonlocal code
        code = await _supervise(settings, (phost, pport), (ahost, aport))

    if settings.role == "control_plane":
        # Its cluster listener starts TLS on accepted sockets itself (to log why a
        # data plane is refused), which uvloop's start_tls does not support; a
        # control plane has no proxy hot path to speed up.
        import asyncio

        asyncio.run(main())
    else:
        run_loop(main())
    return code


def _prepare_store(url: str) -> list[str] | None:
    """Reach the store and apply pending migrations; their names, or None
    (with the reason on stderr) when the store cannot be used."""
    import asyncio

    from lockgate.store import StoreError, open_store, redact_url

    async def prepare() -> list[str]:
        store = open_store(url)
        try:
            applied = await store.migrate()
            await store.load()
            return applied
        finally:
            await store.close()

    try:
        return asyncio.run(prepare())
    except (StoreError, OSError) as exc:
        print(f"Error: cannot use the store {redact_url(url)}: {exc}", file=sys.stderr)
        return None


def _daemonize(log_file: str, pid_file: str) -> None:
    first = os.fork()
    if first > 0:
        # Return to the shell only once the gateway serves (it writes its pid
        # file then), so that `lockgate start --daemon && lockgate gateway apply`
        # works; 1 if it failed to start.
        os.waitpid(first, 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pid = _read_pid(pid_file)
            if pid is not None:
                print(f"lockgate started (pid {pid}); log: {log_file}")
                os._exit(0)
            time.sleep(0.05)
        print(f"Error: lockgate did not become ready within 60 s; see {log_file}", file=sys.stderr)
        os._exit(1)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.devnull, "rb") as devnull:
        os.dup2(devnull.fileno(), 0)
    out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)


def run_worker(
    host: str,
    port: int,
    store_url: str,
    prefix: str,
    worker_id: int,
    log_file: str | None,
    served: Any = None,
    usage_ledger: bool = False,
) -> None:
    """A worker process's entry point (spawned): logging, the plugin registry, the loop."""
    from lockgate.cli.logs import run_loop, setup_logging
    from lockgate.plugins.registry import plugin_classes
    from lockgate.proxy.worker import worker_main

    # Into error.log, and onto the terminal too when the gateway runs in the
    # foreground (a daemon's stderr already is error.log: written once).
    setup_logging(log_file, foreground=True)
    run_loop(
        worker_main(
            host, port, store_url, prefix, worker_id, plugin_classes(), served, usage_ledger
        )
    )


async def _supervise(settings: Settings, proxy: tuple[str, int], admin: tuple[str, int]) -> int:
    """Run the node; ``admin`` is the Admin API's address (a data plane's status listener)."""
    from aiohttp import web

    from lockgate.cli.monitoring import NodeMonitoring
    from lockgate.counters.local import create_table
    from lockgate.proxy.malformed import MalformedRequestAppRunner, MalformedRequestLog
    from lockgate.store import parse_store_url

    role = settings.role
    count = 0 if role == "control_plane" else settings.workers  # a control plane proxies nothing
    ctx = multiprocessing.get_context("spawn")
    workers: dict[int, Any] = {}
    served: dict[int, Any] = {}
    stopping = asyncio.Event()
    node = NodeRole(settings)
    store = node.open_store()
    store_url = node.worker_store_url
    # The node's rate-limiting counters, shared by its workers; they start from zero.
    create_table(os.path.join(settings.prefix, "counters"))
    monitoring = NodeMonitoring(settings, store)

    def spawn(index: int) -> None:
        served[index] = ctx.Value("q", -1, lock=False)
        proc = ctx.Process(
            target=run_worker,
            # Passed to the child through a pipe, not its command line: the URL may hold a password.
            args=(
                proxy[0],
                proxy[1],
                store_url,
                settings.prefix,
                index,
                settings.log_file,
                served[index],
                settings.usage_ledger,
            ),
            name=f"lockgate-worker-{index}",
            daemon=False,
        )
        proc.start()
        workers[index] = proc

    def not_ready() -> str | None:
        if stopping.is_set():
            return "the node is shutting down"
        waiting = [
            i
            for i in range(count)
            if i not in workers or served[i].value < 0 or not workers[i].is_alive()
        ]
        if waiting:
            return f"{len(waiting)} of {count} proxy workers do not yet listen with a configuration"
        if role == "data_plane" and not all(served[i].value > 0 for i in range(count)):
            return "no configuration received from the control plane yet"
        return None

    app = await node.build_app(store, not_ready)
    # A malformed HTTP request to the Admin API is one log line naming the fault
    # (never a traceback, never the client's bytes), as on the proxy.
    runner = MalformedRequestAppRunner(
        app,
        access_log=None,
        handle_signals=False,
        logger=MalformedRequestLog(logging.getLogger("lockgate.admin.http")),
    )
    await runner.setup()
    site = web.TCPSite(runner, admin[0], admin[1], reuse_address=True)
    await site.start()
    await monitoring.start(not_ready)
    for i in range(count):
        spawn(i)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    if count:
        await _wait_listening(proxy, workers)
        # Ready means every worker listens with a configuration (GET /status/ready's
        # first condition), so `start --daemon` returns to a node that serves fully.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(served[i].value < 0 for i in range(count)):
            await asyncio.sleep(0.05)
    with open(settings.pid_file, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    log.info(
        "lockgate %s ready (%s): proxy on %s (%d workers), %s on %s:%d, prefix %s, store %s",
        _version(),
        role,
        f"{proxy[0]}:{proxy[1]}" if count else "none",
        count,
        "status" if role == "data_plane" else "Admin API",
        admin[0],
        admin[1],
        settings.prefix,
        parse_store_url(store_url).shown,
    )
    await _warn_about_configuration(store, proxy[0])
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), 0.5)
        for index, proc in list(workers.items()):
            if not stopping.is_set() and not proc.is_alive():
                log.warning("worker %d exited with %s; restarting it", index, proc.exitcode)
                spawn(index)
    log.info("lockgate stopping: draining in-flight requests")
    for proc in workers.values():
        if proc.is_alive() and proc.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 35
    for proc in workers.values():
        while proc.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.is_alive():
            proc.kill()
    await node.close()
    await monitoring.stop()
    await runner.cleanup()
    await store.close()
    with contextlib.suppress(OSError):
        os.unlink(settings.pid_file)
    log.info("lockgate stopped")
    return 0


async def _warn_about_configuration(store: Any, proxy_host: str) -> None:
    """What ``lockgate gateway apply`` would warn about, for the stored configuration."""
    from lockgate.cli.config_warnings import config_warnings
    from lockgate.store.base import StoreUnavailable

    try:
        _, state = await store.load()
    except StoreUnavailable as exc:
        # Advice only: a store that went away must not stop a node that serves.
        log.warning("could not check the configuration for warnings: %s", exc)
        return
    for line in config_warnings(state.dump(), [proxy_host]):
        log.warning("%s", line)


async def _wait_listening(proxy: tuple[str, int], workers: dict[int, Any]) -> None:
    host = "127.0.0.1" if proxy[0] in ("0.0.0.0", "") else ("::1" if proxy[0] == "::" else proxy[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, proxy[1])
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    log.error("the proxy workers did not start listening within 30 s")


def _version() -> str:
    from lockgate import __version__

    return __version__


def stop(prefix: str) -> int:
    pid_file = os.path.join(prefix, "lockgate.pid")
    pid = _read_pid(pid_file)
    if pid is None:
        print(f"lockgate is not running (no live pid in {pid_file})", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if _read_pid(pid_file) is None:
            print("lockgate stopped")
            return 0
        time.sleep(0.1)
    print(f"Error: lockgate (pid {pid}) did not stop within 40 s", file=sys.stderr)
    return 1


def status(prefix: str, admin_url: str) -> int:
    pid = _read_pid(os.path.join(prefix, "lockgate.pid"))
    if pid is None:
        print("lockgate is not running")
        return 1
    try:
        with urllib.request.urlopen(admin_url.rstrip("/") + "/status", timeout=5) as resp:
            info = json.loads(resp.read())
    except OSError as exc:
        print(
            f"lockgate is running (pid {pid}) but the Admin API at {admin_url} does not answer: {exc}"
        )
        return 1
    print(f"lockgate is running (pid {pid})")
    print(json.dumps(info, indent=2))
    return 0
