"""Does a PostgreSQL store add latency to proxied requests? (It should not:
the configuration hot path stays local; workers only follow the store.)

Starts the emulator and two one-worker lockgate nodes with the OpenAI
tutorial's configuration: one on the embedded SQLite store, one on
PostgreSQL (``--store URL``, or a throwaway server started from the test
suite's helper when none is given). Then sends small Anthropic requests at
concurrency 1, alternating between the two (A B B A) so that background load
drifts equally on both, and prints the latency percentiles of each and their
difference. Not a test: nothing asserts on timings.

    python bench/store_latency.py [--requests 2000] [--stream] [--store URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bodies import small_request  # noqa: E402
from servers import Server, start_emulator, start_lockgate  # noqa: E402


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.support.postgres import postgres_server

    with postgres_server() as server:
        yield server.new_database()


def _start(work: Path, emulator: Server, store: str | None, probe: bytes) -> Server:
    work.mkdir(parents=True)
    saved = os.environ.pop("LOCKGATE_STORE", None)
    if store:
        os.environ["LOCKGATE_STORE"] = store
    try:
        return start_lockgate(work, emulator, 1, probe)
    finally:
        os.environ.pop("LOCKGATE_STORE", None)
        if saved is not None:
            os.environ["LOCKGATE_STORE"] = saved


async def _measure(urls: dict[str, str], body: bytes, requests: int) -> dict[str, list[float]]:
    headers = {"content-type": "application/json", "x-api-key": "x"}
    out: dict[str, list[float]] = {name: [] for name in urls}
    sessions = {name: aiohttp.ClientSession() for name in urls}
    names = list(urls)
    try:
        for i in range(requests + 50):
            order = names if i % 2 == 0 else names[::-1]
            for name in order:
                started = time.perf_counter()
                async with sessions[name].post(
                    urls[name] + "/anything/v1/messages", data=body, headers=headers
                ) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{name}: HTTP {resp.status}")
                if i >= 50:  # the first 50 rounds warm up
                    out[name].append((time.perf_counter() - started) * 1000)
    finally:
        for session in sessions.values():
            await session.close()
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per store")
    parser.add_argument("--stream", action="store_true", help="streamed requests")
    parser.add_argument("--store", default=None, help="a PostgreSQL URL (default: a throwaway)")
    args = parser.parse_args()
    body = json.dumps(small_request(args.stream)).encode()
    probe = json.dumps(small_request(False)).encode()
    work = Path(tempfile.mkdtemp(prefix="lockgate-store-bench-"))
    servers: list[Server] = []
    with _postgres(args.store) as pg_url:
        try:
            emulator = start_emulator(work)
            servers.append(emulator)
            sqlite = _start(work / "sqlite", emulator, None, probe)
            servers.append(sqlite)
            postgres = _start(work / "postgres", emulator, pg_url, probe)
            servers.append(postgres)
            results = asyncio.run(
                _measure({"sqlite": sqlite.url, "postgres": postgres.url}, body, args.requests)
            )
        finally:
            for server in reversed(servers):
                server.stop()
    kind = "small/stream" if args.stream else "small/json"
    print(f"{kind}, concurrency 1, {args.requests} requests per store, alternating (ms)")
    print("| store | p50 | p90 | p99 | mean |")
    print("|---|---|---|---|---|")
    for name, values in results.items():
        print(
            f"| {name} | {_pct(values, 0.5):.2f} | {_pct(values, 0.9):.2f} | "
            f"{_pct(values, 0.99):.2f} | {statistics.fmean(values):.2f} |"
        )
    p50 = _pct(results["postgres"], 0.5) - _pct(results["sqlite"], 0.5)
    print(f"postgres - sqlite at p50: {p50:+.2f} ms")


if __name__ == "__main__":
    main()
