"""The load generator: one process, pinned to one core, closed-loop HTTP/1.1.

``python bench/loadgen.py < spec.json`` writes one JSON result to the spec's
``result_file``. It is run as
a separate process so that its CPU never counts as the gateway's, and pinned
(``os.sched_setaffinity``) so that its share of the machine is bounded and
the same in every cell.

The client is a small keep-alive HTTP/1.1 client on asyncio streams (uvloop),
not aiohttp's: with a pre-encoded request it costs a few tens of
microseconds a request, so one core saturates every target measured here.
Each of ``concurrency`` tasks owns one connection and sends requests back to
back. After ``warmup`` seconds the measured window opens: the CPU times of
the watched processes are read (``/proc/<pid>/stat`` utime + stime), and
every request that completes inside the window is counted, with its latency
(send to last body byte) and time to first body byte. At the end of the
window (``duration`` seconds, extended up to ``max_duration`` until
``min_requests`` completed, for slow targets) the CPU times and RSS are read
again. Requests still in flight then get ``grace`` seconds, then are dropped.

``mode: "paired"`` alternates requests between two targets at concurrency 1
(see :func:`_paired`). ``mode: "hold"`` opens ``concurrency`` slow streams
(ramped up over ``ramp`` seconds), samples the watched processes' RSS while they are all
open, and reports how many completed without error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["cpu_seconds", "descendants", "machine_busy_seconds", "rss_kib", "run"]

_TICK = os.sysconf("SC_CLK_TCK")
#: Bytes kept from the end of each answer to check it is complete.
_TAIL = 4096


# --------------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB (0, 0 if the process is gone)."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``), every process."""
    with open("/proc/stat", "rb") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


# --------------------------------------------------------------------- client


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    ttfbs: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    bytes_in: int = 0

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


class Client:
    """One keep-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, payload: bytes) -> tuple[int, float, float, bytes, int]:
        """Sends one request; returns (status, ttfb, latency, tail, body size)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20
            )
        reader, writer = self.reader, self.writer
        assert reader is not None
        start = time.perf_counter()
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        ttfb = 0.0
        tail = b""
        size = 0
        if b"transfer-encoding: chunked" in lower:
            while True:
                line = await reader.readline()
                n = int(line.split(b";", 1)[0], 16)
                if n == 0:
                    while (await reader.readline()) not in (b"\r\n", b""):
                        pass
                    break
                data = await reader.readexactly(n + 2)
                if not ttfb:
                    ttfb = time.perf_counter() - start
                size += n
                tail = (tail + data[:-2])[-_TAIL:]
        else:
            at = lower.find(b"content-length:")
            n = int(lower[at + 15 : lower.index(b"\r\n", at)]) if at >= 0 else 0
            if n:
                first = await reader.read(n)
                ttfb = time.perf_counter() - start
                rest = await reader.readexactly(n - len(first)) if len(first) < n else b""
                tail = (first + rest)[-_TAIL:]
                size = n
        latency = time.perf_counter() - start
        if b"connection: close" in lower:
            await self.close()
        return status, ttfb or latency, latency, tail, size


def _build_request(spec: dict[str, Any], body: bytes) -> tuple[str, int, bytes]:
    host, port = spec["host"], int(spec["port"])
    lines = [f"POST {spec['path']} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in spec.get("headers", {}).items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    return host, port, "\r\n".join(lines).encode() + body


# ---------------------------------------------------------------------- modes


async def _load(spec: dict[str, Any], payload: bytes, host: str, port: int) -> dict[str, Any]:
    pids: list[int] = spec.get("pids", [])
    emulator_pids: list[int] = spec.get("emulator_pids", [])
    expect = spec.get("expect", "").encode()
    stats = Stats()
    measuring = False
    stopping = False

    async def worker() -> None:
        client = Client(host, port)
        try:
            while not stopping:
                try:
                    status, ttfb, latency, tail, size = await client.request(payload)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    await client.close()
                    if measuring and not stopping:
                        stats.error(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.01)
                    continue
                if not measuring or stopping:
                    continue
                if status != 200 or (expect and expect not in tail):
                    stats.error(f"status {status}: {tail[-200:].decode(errors='replace')}")
                    continue
                stats.latencies.append(latency)
                stats.ttfbs.append(ttfb)
                stats.bytes_in += size
        finally:
            await client.close()

    tasks = [asyncio.create_task(worker()) for _ in range(int(spec["concurrency"]))]
    await asyncio.sleep(float(spec["warmup"]))
    measuring = True
    cpu0, emu0, t0 = _cpu(pids), _cpu(emulator_pids), time.perf_counter()
    own0, busy0 = time.process_time(), machine_busy_seconds()
    await asyncio.sleep(float(spec["duration"]))
    # A slow target: extend the window until enough requests completed in it.
    min_requests = int(spec.get("min_requests", 0))
    deadline = t0 + float(spec.get("max_duration", spec["duration"]))
    while len(stats.latencies) < min_requests and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    cpu1, emu1, t1 = _cpu(pids), _cpu(emulator_pids), time.perf_counter()
    own1, busy1 = time.process_time(), machine_busy_seconds()
    stopping = True
    rss = {str(p): rss_kib(p) for p in pids}
    _done, pending = await asyncio.wait(tasks, timeout=float(spec.get("grace", 2.0)))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return {
        "elapsed": t1 - t0,
        "requests": len(stats.latencies),
        "latencies": stats.latencies,
        "ttfbs": stats.ttfbs,
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "bytes_in": stats.bytes_in,
        "cpu": cpu1 - cpu0,
        "emulator_cpu": emu1 - emu0,
        "loadgen_cpu": own1 - own0,
        "machine_cpu": busy1 - busy0,
        "rss_kib": rss,
    }


async def _hold(spec: dict[str, Any], payload: bytes, host: str, port: int) -> dict[str, Any]:
    pids: list[int] = spec.get("pids", [])
    expect = spec.get("expect", "").encode()
    count = int(spec["concurrency"])
    ramp = float(spec.get("ramp", 2.0))
    stats = Stats()
    open_now = 0
    peak_open = 0
    peak_rss: dict[str, int] = {str(p): 0 for p in pids}

    async def one(delay: float) -> None:
        nonlocal open_now, peak_open
        await asyncio.sleep(delay)
        client = Client(host, port)
        open_now += 1
        peak_open = max(peak_open, open_now)
        try:
            status, ttfb, latency, tail, _size = await client.request(payload)
            if status != 200 or (expect and expect not in tail):
                stats.error(f"status {status}: {tail[-200:].decode(errors='replace')}")
            else:
                stats.latencies.append(latency)
                stats.ttfbs.append(ttfb)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.error(f"{type(exc).__name__}: {exc}")
        finally:
            open_now -= 1
            await client.close()

    async def sample() -> None:
        while True:
            for p in pids:
                peak_rss[str(p)] = max(peak_rss[str(p)], rss_kib(p)[0])
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    cpu0, t0 = _cpu(pids), time.perf_counter()
    tasks = [asyncio.create_task(one(ramp * i / count)) for i in range(count)]
    await asyncio.wait(tasks, timeout=float(spec.get("timeout", 120)))
    elapsed = time.perf_counter() - t0
    sampler.cancel()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, sampler, return_exceptions=True)
    return {
        "elapsed": elapsed,
        "requests": len(stats.latencies),
        "latencies": stats.latencies,
        "ttfbs": stats.ttfbs,
        "errors": count - len(stats.latencies),
        "error_samples": stats.error_samples,
        "peak_open": peak_open,
        "peak_rss_kib": peak_rss,
        "cpu": _cpu(pids) - cpu0,
    }


async def _paired(spec: dict[str, Any]) -> dict[str, Any]:
    """Concurrency 1, alternating between two targets (``pair``), so that
    whatever else the machine does slows both the same: the difference of
    their latencies is then a fair "added latency"."""
    sides = []
    for side in spec["pair"]:
        with open(side["body_file"], "rb") as fh:
            host, port, payload = _build_request(side, fh.read())
        sides.append((Client(host, port), payload, side.get("expect", "").encode(), Stats()))
    start = time.perf_counter()
    warm_until = start + float(spec["warmup"])
    stop_at = warm_until + float(spec["duration"])
    turn = 0
    while time.perf_counter() < stop_at:
        order = sides if turn % 2 == 0 else sides[::-1]
        turn += 1
        for client, payload, expect, stats in order:
            try:
                status, ttfb, latency, tail, _size = await client.request(payload)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                await client.close()
                stats.error(f"{type(exc).__name__}: {exc}")
                continue
            if time.perf_counter() < warm_until:
                continue
            if status != 200 or (expect and expect not in tail):
                stats.error(f"status {status}: {tail[-200:].decode(errors='replace')}")
                continue
            stats.latencies.append(latency)
            stats.ttfbs.append(ttfb)
    for client, *_ in sides:
        await client.close()
    return {
        "sides": [
            {
                "latencies": st.latencies,
                "ttfbs": st.ttfbs,
                "errors": st.errors,
                "error_samples": st.error_samples,
            }
            for *_, st in sides
        ]
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("mode") == "paired":
        return await _paired(spec)
    with open(spec["body_file"], "rb") as fh:
        body = fh.read()
    host, port, payload = _build_request(spec, body)
    if spec.get("mode") == "hold":
        return await _hold(spec, payload, host, port)
    return await _load(spec, payload, host, port)


def main() -> None:
    spec = json.load(sys.stdin)
    core = spec.get("core")
    if core is not None:
        os.sched_setaffinity(0, {int(core)})
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    # a file, not stdout: a pipe left non-blocking by the event loop can cut a large write
    with open(spec["result_file"], "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
