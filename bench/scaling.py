"""Worker scaling with peers that cost next to nothing.

On a 2-core machine the Python emulator and load generator of ``run.py``
take most of a core between them, so a second worker has nothing to run on
and its cells say nothing about scaling. This part measures it with the
cheapest real peers there are, both pinned to one core (``--core``):

- wrk (C, one thread, keep-alive HTTP/1.1) as the load generator;
- nginx (one worker process) as the OpenAI upstream, answering every call
  with a response the emulator gave for the same body, captured at start
  (``text/event-stream`` when lockgate asks for a stream, JSON otherwise;
  the Claude-Code-sized answer for bodies of 10 KB or more).

lockgate (the OpenAI tutorial's configuration, as in ``run.py``) runs with 1
and with 2 workers, unpinned; the two are measured in alternation, ``rounds``
times per body, and the medians compared. Each run also records how much
CPU every worker and nginx used, so the result shows where the cores went.

Needs ``wrk`` and ``nginx`` on the machine (Debian: ``apt-get install wrk
nginx-light``); without them :func:`missing_tools` says what is missing and
the suite reports the target as not measured.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bodies import RequestBody, build_bodies
from loadgen import cpu_seconds, descendants
from servers import PROVIDER_KEY, Server, Unavailable, free_port, start_lockgate

__all__ = ["ScalingRun", "measure_scaling", "missing_tools"]

#: nginx tells the bodies apart by Content-Length: five digits or more (>= 10 KB) is Claude-Code-sized.
_BIG = "[0-9]{5,}"


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def missing_tools() -> str | None:
    """Why this part cannot run here, or None."""
    missing = [
        name for name, path in (("wrk", shutil.which("wrk")), ("nginx", _nginx())) if not path
    ]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install wrk nginx-light)"
    return None


@dataclass
class ScalingRun:
    body: str
    workers: int
    rps: float
    errors: int
    p50_ms: float
    worker_cores: list[float]
    nginx_cores: float
    wrk_cores: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _capture_answers(emulator: Server, bodies: list[RequestBody], into: Path) -> None:
    """What the emulator answers each OpenAI body, saved for nginx to serve."""
    for body in bodies:
        request = urllib.request.Request(
            f"{emulator.url}/openai/v1/chat/completions",
            data=body.openai,
            method="POST",
            headers={"Authorization": f"Bearer {PROVIDER_KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer = resp.read()
        kind = "stream" if body.stream else "json"
        (into / f"answer-{body.name}-{kind}").write_bytes(answer)


def _start_nginx(work: Path, answers: Path, core: int) -> Server:
    nginx = _nginx()
    assert nginx is not None
    port = free_port()
    log = work / "nginx-error.log"
    conf = work / "nginx.conf"
    # As root, nginx's worker would run as an unprivileged user that cannot read the work directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"""daemon off;
{user}worker_processes 1;
worker_cpu_affinity {1 << core:b};
error_log {log} warn;
pid {work}/nginx.pid;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_buffer_size 256k;
    client_max_body_size 16m;
    # stream or not by the Accept header lockgate sends; which body by its size
    map "$http_accept|$content_length" $answer {{
        "~^text/event-stream\\|{_BIG}$" /answer-cc-stream;
        "~^text/event-stream"            /answer-small-stream;
        "~\\|{_BIG}$"                     /answer-cc-json;
        default                          /answer-small-json;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {answers};
        # static files refuse POST with 405: answer it with the file instead
        location = /openai/v1/chat/completions {{ error_page 405 =200 $answer; return 405; }}
        location /answer-cc-json {{ internal; default_type application/json; }}
        location /answer-small-json {{ internal; default_type application/json; }}
        location /answer- {{ internal; default_type text/event-stream; }}
    }}
}}
"""
    )
    proc = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )
    server = Server("nginx", f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2):
                pass
            break
        except urllib.error.HTTPError:
            break  # answered (404): listening
        except OSError:
            time.sleep(0.05)
    if proc.poll() is not None:
        raise Unavailable(f"nginx did not start: {log.read_text(errors='replace')[-1000:]}")
    server.pids = [proc.pid, *descendants(proc.pid)]
    return server


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_P50 = re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _wrk(
    url: str, body_file: Path, script: Path, conc: int, seconds: float, core: int
) -> tuple[float, int, float, float]:
    """One wrk run: (req/s, errors, p50 ms, wrk's CPU in cores)."""
    script.write_text(
        'wrk.method = "POST"\n'
        f'local f = assert(io.open("{body_file}", "rb"))\n'
        "wrk.body = f:read('*a')\nf:close()\n"
    )
    cmd = [
        "wrk",
        "-t1",
        f"-c{conc}",
        f"-d{seconds:g}s",
        "--latency",
        "-H",
        "Content-Type: application/json",
        "-H",
        "x-api-key: x",
        "-H",
        "anthropic-version: 2023-06-01",
        "-s",
        str(script),
        url,
    ]
    before = os.times()
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )
    after = os.times()
    out = proc.stdout
    rps = _RPS.search(out)
    if proc.returncode != 0 or rps is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out[-1000:]} {proc.stderr[-1000:]}")
    errors = int(m.group(1)) if (m := _NON_2XX.search(out)) else 0
    if m := _SOCKET.search(out):
        errors += sum(int(g) for g in m.groups())
    p50 = float("nan")
    if m := _P50.search(out):
        p50 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return float(rps.group(1)), errors, p50, cpu / seconds


def measure_scaling(
    work: Path,
    emulator: Server,
    bodies: list[RequestBody],
    *,
    concurrency: int,
    seconds: float,
    rounds: int,
    core: int,
    log: Any = print,
) -> list[ScalingRun]:
    """Alternating 1- and 2-worker runs per body; raises Unavailable without wrk or nginx."""
    why = missing_tools()
    if why:
        raise Unavailable(why)
    base = work / "scaling"
    answers = base / "answers"
    answers.mkdir(parents=True, exist_ok=True)
    _capture_answers(emulator, build_bodies(), answers)  # the probe's answer too
    nginx = _start_nginx(base, answers, core)
    gateways: dict[int, Server] = {}
    runs: list[ScalingRun] = []
    try:
        # the readiness probe is small whichever bodies are measured
        probe = next(b for b in build_bodies() if b.label == "small/json").anthropic
        for workers in (1, 2):
            gateways[workers] = start_lockgate(base, nginx, workers, probe)
        for body in bodies:
            body_file = base / f"{body.name}-{'stream' if body.stream else 'json'}.json"
            body_file.write_bytes(body.anthropic)
            for gateway in gateways.values():  # warm-up, not counted
                _wrk(
                    f"{gateway.url}/anything/v1/messages?beta=true",
                    body_file,
                    base / "post.lua",
                    concurrency,
                    1.0,
                    core,
                )
            for _ in range(rounds):
                for workers, gateway in gateways.items():
                    pids = gateway.workers
                    cpu0 = [cpu_seconds(p) for p in pids]
                    ng0 = sum(cpu_seconds(p) for p in nginx.pids)
                    started = time.monotonic()
                    rps, errors, p50, wrk_cores = _wrk(
                        f"{gateway.url}/anything/v1/messages?beta=true",
                        body_file,
                        base / "post.lua",
                        concurrency,
                        seconds,
                        core,
                    )
                    elapsed = time.monotonic() - started
                    run = ScalingRun(
                        body=body.label,
                        workers=workers,
                        rps=rps,
                        errors=errors,
                        p50_ms=p50,
                        worker_cores=[
                            round((cpu_seconds(p) - c) / elapsed, 3)
                            for p, c in zip(pids, cpu0, strict=True)
                        ],
                        nginx_cores=round(
                            (sum(cpu_seconds(p) for p in nginx.pids) - ng0) / elapsed, 3
                        ),
                        wrk_cores=round(wrk_cores, 3),
                    )
                    runs.append(run)
                    log(
                        f"   scaling {body.label:12} {workers} worker(s): {rps:8.1f} req/s, "
                        f"worker cores {run.worker_cores}, nginx {run.nginx_cores:.2f}, "
                        f"wrk {run.wrk_cores:.2f}, errors {errors}"
                    )
                    time.sleep(0.5)
    finally:
        for gateway in gateways.values():
            gateway.stop()
        nginx.stop()
    return runs


def summarize(runs: list[ScalingRun]) -> list[dict[str, Any]]:
    """Per body: median req/s of each side, the ratio, and throughput per busy worker core."""
    out = []
    for body in dict.fromkeys(r.body for r in runs):
        one = [r for r in runs if r.body == body and r.workers == 1]
        two = [r for r in runs if r.body == body and r.workers == 2]
        if not one or not two:
            continue

        def per_core(rs: list[ScalingRun]) -> float:
            return statistics.median(r.rps / max(sum(r.worker_cores), 1e-9) for r in rs)

        one_rps = statistics.median(r.rps for r in one)
        two_rps = statistics.median(r.rps for r in two)
        out.append(
            {
                "body": body,
                "one_rps": one_rps,
                "two_rps": two_rps,
                "ratio": two_rps / one_rps if one_rps else float("nan"),
                "one_rps_runs": [r.rps for r in one],
                "two_rps_runs": [r.rps for r in two],
                "one_worker_cores": statistics.median(sum(r.worker_cores) for r in one),
                "two_worker_cores": statistics.median(sum(r.worker_cores) for r in two),
                "one_per_core": per_core(one),
                "two_per_core": per_core(two),
                "peer_cores": statistics.median(r.nginx_cores + r.wrk_cores for r in two),
                "errors": sum(r.errors for r in one + two),
            }
        )
    return out


def markdown(runs: list[ScalingRun], concurrency: int, core: int) -> str:
    rows = summarize(runs)
    lines = [
        f"### Worker scaling: wrk and nginx pinned to core {core}, c={concurrency}",
        "",
        "Load generator: wrk (one thread, keep-alive). Upstream: nginx (one worker) serving "
        "the emulator's answers. Both pinned to the same core; lockgate's workers unpinned. "
        "1 and 2 workers measured in alternation; medians. Per core: req/s divided by the "
        "cores lockgate's workers used.",
        "",
        "| body | 1 worker req/s | 2 workers req/s | ×1 worker | worker cores (1 / 2) "
        "| req/s per worker core (1 / 2) | wrk + nginx cores | errors | runs (1 / 2) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['body']} | {r['one_rps']:.0f} | {r['two_rps']:.0f} | {r['ratio']:.2f} "
            f"| {r['one_worker_cores']:.2f} / {r['two_worker_cores']:.2f} "
            f"| {r['one_per_core']:.0f} / {r['two_per_core']:.0f} | {r['peer_cores']:.2f} "
            f"| {r['errors']} | {', '.join(f'{x:.0f}' for x in r['one_rps_runs'])} / "
            f"{', '.join(f'{x:.0f}' for x in r['two_rps_runs'])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import argparse
    import tempfile

    from servers import start_emulator

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", default="small/stream,small/json,cc/stream,cc/json")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    wanted = args.bodies.split(",")
    chosen = [b for b in build_bodies() if b.label in wanted]
    with tempfile.TemporaryDirectory(prefix="lockgate-scaling-") as tmp:
        emu = start_emulator(Path(tmp))
        try:
            result = measure_scaling(
                Path(tmp),
                emu,
                chosen,
                concurrency=args.concurrency,
                seconds=args.seconds,
                rounds=args.rounds,
                core=args.core,
            )
        finally:
            emu.stop()
    print(markdown(result, args.concurrency, args.core))
