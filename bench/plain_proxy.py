"""Plain HTTP proxying: lockgate (1 and 2 workers) against the same requests
sent straight to the upstream. ``python bench/plain_proxy.py [--seconds S]``.

The upstream is a small aiohttp app in its own process answering a 1 KB JSON
body; the load generator runs in this process, pinned to CPU 0 where the
machine allows it. Prints requests per second and p50/p99 latency per
concurrency, and the ratio to the direct figures of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import free_port, wait_http  # noqa: E402

UPSTREAM = """
import sys
from aiohttp import web
body = b'{"ok": true, "pad": "' + b"x" * 1000 + b'"}'
async def h(request):
    await request.read()
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", h)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


async def load(url: str, concurrency: int, seconds: float) -> tuple[float, float, float]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                async with session.get(url) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000


def start_gateway(workers: int, upstream: str, tmp: str) -> tuple[subprocess.Popen[bytes], str]:
    proxy, admin = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lockgate",
            "start",
            "--workers",
            str(workers),
            "--prefix",
            f"{tmp}/w{workers}",
            "--proxy-listen",
            f"127.0.0.1:{proxy}",
            "--admin-listen",
            f"127.0.0.1:{admin}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{admin}/status", proc=proc)
    config = f'_format_version: "3.0"\nservices:\n  - name: s\n    url: {upstream}\n    routes:\n      - name: r\n        paths: ["/bench"]\n'
    subprocess.run(
        [
            sys.executable,
            "-m",
            "lockgate",
            "gateway",
            "sync",
            "-",
            "--admin-url",
            f"http://127.0.0.1:{admin}",
        ],
        input=config.encode(),
        check=True,
        capture_output=True,
    )
    time.sleep(1.0)
    return proc, f"http://127.0.0.1:{proxy}/bench/x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,16,64")
    args = parser.parse_args()
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {0})
    port = free_port()
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(port)])
    upstream_url = f"http://127.0.0.1:{port}"
    wait_http(upstream_url + "/", proc=upstream)
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[tuple[str, int, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for c in levels:
                rows.append(("direct", c, *asyncio.run(load(upstream_url + "/x", c, args.seconds))))
            for workers in (1, 2):
                proc, url = start_gateway(workers, upstream_url, tmp)
                try:
                    for c in levels:
                        rows.append(
                            (f"lockgate {workers}w", c, *asyncio.run(load(url, c, args.seconds)))
                        )
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=40)
        finally:
            upstream.terminate()
    direct = {c: (rps, p50) for name, c, rps, p50, _ in rows if name == "direct"}
    print("| target | concurrency | req/s | p50 ms | p99 ms | req/s vs direct | added p50 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, c, rps, p50, p99 in rows:
        print(
            f"| {name} | {c} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {rps / direct[c][0]:.2f}x | {p50 - direct[c][1]:+.2f} |"
        )


if __name__ == "__main__":
    main()
