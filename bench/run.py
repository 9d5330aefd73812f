"""lockgate's benchmark suite: ``make bench`` (``python bench/run.py``).

Starts the emulator and each target on free ports, drives them with the
pinned load generator (``loadgen.py``) for small and Claude-Code-sized
Anthropic requests (``bodies.py``), streamed and not, at several
concurrencies, and writes ``bench/results/<timestamp>.json`` and ``.md``.

Targets (``--only`` takes a comma list of these names):

- ``direct``: the emulator's OpenAI route with the body lockgate would send
  it (the floor for every translating target);
- ``direct_anthropic`` (not run unless named): the emulator's Anthropic route
  with the Anthropic body (what a native Anthropic upstream costs);
- ``minimal``: ``minimal_translator.py`` (the Python floor);
- ``lockgate1`` / ``lockgate2`` (``lockgate`` = both): the OpenAI tutorial's
  configuration with 1 or 2 workers, and their idle RSS;
- ``litellm``: LiteLLM's proxy (installed on first use into
  ``bench/.litellm-venv``; reported as unavailable, with the reason, when it
  cannot be installed or started).

With ``lockgate1`` and ``minimal`` (``--hold-targets``), 1,000 slow streams
are also held open at once, small and Claude-Code-sized, and the peak RSS of
the serving process is reported.

``responses``: one worker serving Chat Completions clients passed through to
OpenAI and Responses API clients translated to Anthropic; CPU per request of
the two streams at concurrency 16, in alternating windows (A B B A ...).

The load generator runs in its own process pinned to core ``--core``; the
servers are not pinned. CPU per request is the utime + stime of the target's
processes (``/proc/<pid>/stat``) over the measured window divided by the
requests completed in it.

Two comparisons are also measured in alternation, because the machine's
background load drifts between cells: added latency at concurrency 1
(lockgate1 and minimal, request by request against the emulator) and CPU per
request at concurrency 16 (lockgate1 and minimal, in short windows, A B B A).
The targets' verdicts use these when they were measured.

Worker scaling (``scaling.py``) is measured last, with wrk as the load
generator and nginx as the upstream, both pinned to the load generator's
core: on two cores the Python emulator and load generator leave a second
worker nothing to run on. It needs wrk and nginx; without them the target is
reported from the emulator cells, with that caveat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bodies import ANTHROPIC_MODEL, RequestBody, build_bodies, slow_stream_body  # noqa: E402
from loadgen import cpu_seconds, rss_kib  # noqa: E402
from report import (  # noqa: E402
    BODY_LABELS,
    Cell,
    cpu_pairs_markdown,
    evaluate_targets,
    make_cell,
    markdown,
    paired_markdown,
    paired_stats,
    scaling_markdown,
)
from scaling import ScalingRun, measure_scaling  # noqa: E402
from scaling import markdown as scaling_table  # noqa: E402
from scaling import summarize as summarize_scaling  # noqa: E402
from servers import (  # noqa: E402
    LITELLM_KEY,
    PROVIDER_KEY,
    Server,
    Unavailable,
    free_port,
    limits_config,
    responses_config,
    start_emulator,
    start_litellm,
    start_lockgate,
    start_minimal,
)

ALL_TARGETS = (
    "direct",
    "direct_anthropic",
    "minimal",
    "lockgate1",
    "lockgate2",
    "litellm",
    "monitoring",
    "limits",
    "responses",
)
DEFAULT_TARGETS = (
    "direct",
    "minimal",
    "lockgate1",
    "lockgate2",
    "litellm",
    "monitoring",
    "limits",
    "responses",
)
CLAUDE_HEADERS = {
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    "User-Agent": "claude-cli/2.1.197 (external, cli)",
    "X-Claude-Code-Session-Id": "bench-session",
}
SCALING_CONCURRENCY = 64


# ------------------------------------------------------------------ target specs


def request_spec(target: str, server: Server) -> dict[str, Any]:
    """Where and how a target is called: path, headers, which body, what a
    complete answer ends with (stream, non-stream)."""
    host, port = "127.0.0.1", server.port
    if target == "direct":
        return {
            "host": host,
            "port": port,
            "path": "/openai/v1/chat/completions",
            "headers": {"Authorization": f"Bearer {PROVIDER_KEY}"},
            "kind": "openai",
            "expect": ("[DONE]", '"finish_reason"'),
        }
    headers = dict(CLAUDE_HEADERS)
    path = "/v1/messages"
    kind = "anthropic"
    if target == "direct_anthropic":
        path, kind = "/anthropic/v1/messages", "anthropic_direct"
        headers["x-api-key"] = PROVIDER_KEY
    elif target.startswith("lockgate"):
        path = "/anything/v1/messages?beta=true"
        headers["x-api-key"] = "x"  # Claude Code's dummy key; the gateway injects the real one
    elif target == "litellm":
        headers["x-api-key"] = LITELLM_KEY
    else:
        headers["x-api-key"] = "x"
    return {
        "host": host,
        "port": port,
        "path": path,
        "headers": headers,
        "kind": kind,
        "expect": ("message_stop", "end_turn"),
    }


def _body_of(body: RequestBody, kind: str) -> bytes:
    if kind == "openai_claude":  # the Chat body naming the Claude model
        return orjson.dumps({**orjson.loads(body.openai), "model": ANTHROPIC_MODEL})
    return {"openai": body.openai, "anthropic": body.anthropic, "responses": body.responses}.get(
        kind, body.anthropic_direct
    )


def client_spec(server: Server, client: str) -> dict[str, Any]:
    """The Responses comparison's two clients (``responses_config``): a Chat
    Completions client passed through to OpenAI, a Responses client
    translated to Anthropic."""
    if client == "chat":
        path, kind, expect = "/chat/v1/chat/completions", "openai", ("[DONE]", '"finish_reason"')
    elif client == "anthropic":
        path, kind = "/anthropic-passthrough/v1/messages", "anthropic_direct"
        expect = ("message_stop", "end_turn")
    elif client == "chat_anthropic":
        path, kind = "/chat-anthropic/v1/chat/completions", "openai_claude"
        expect = ("[DONE]", '"finish_reason"')
    else:
        path, kind, expect = (
            "/responses/v1/responses",
            "responses",
            ("response.completed", '"output"'),
        )
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "path": path,
        "headers": {"Authorization": "Bearer sk-client-dummy"},
        "kind": kind,
        "expect": expect,
    }


# ----------------------------------------------------------------------- running


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.bodies = [b for b in build_bodies() if b.label in args.bodies]
        self.body_files: dict[tuple[str, str], Path] = {}
        for b in build_bodies():
            for kind in ("openai", "anthropic", "anthropic_direct", "responses", "openai_claude"):
                path = work / f"{b.name}-{'stream' if b.stream else 'json'}-{kind}.json"
                path.write_bytes(_body_of(b, kind))
                self.body_files[(b.label, kind)] = path
        self.cells: list[Cell] = []
        self.unavailable: dict[str, str] = {}
        self.notes: dict[str, list[str]] = {}
        self.idle_rss_mb: dict[str, float] = {}
        self.holds: list[dict[str, Any]] = []
        self.paired: list[dict[str, Any]] = []
        self.cpu_pairs: list[dict[str, Any]] = []
        self.kept: dict[str, Server] = {}
        self.deferred_holds: list[tuple[str, Server, dict[str, Any]]] = []
        self.profile: str | None = None
        self.emulator: Server | None = None
        self.scaling: list[ScalingRun] = []
        self.monitoring: list[dict[str, Any]] = []
        self.limits: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []

    def log(self, text: str) -> None:
        print(text, flush=True)

    def loadgen(self, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
        out = self.work / "loadgen-result.json"
        out.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, str(BENCH / "loadgen.py")],
            input=json.dumps({**spec, "result_file": str(out)}).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"loadgen failed: {proc.stderr.decode(errors='replace')[-2000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result

    def start(self, target: str) -> Server:
        assert self.emulator is not None
        probe = self.body_files[("small/json", "anthropic")].read_bytes()
        if target in ("direct", "direct_anthropic"):
            return self.emulator
        if target in self.kept:
            return self.kept[target]
        if target == "minimal":
            server = start_minimal(self.work, self.emulator)
            if "lockgate1" in self.args.only and self.args.cpu_rounds:
                self.kept[target] = server  # for the alternating CPU comparison
            return server
        if target in ("lockgate1", "lockgate2"):
            return start_lockgate(self.work, self.emulator, int(target[-1]), probe)
        if target == "litellm":
            return start_litellm(self.work, self.emulator, probe)
        raise ValueError(target)

    def run_target(self, target: str) -> None:
        self.log(f"== {target}")
        if target == "monitoring":
            self.monitoring_pair()
            return
        if target == "limits":
            self.limits_cost()
            return
        if target == "responses":
            self.responses_cost()
            return
        try:
            server = self.start(target)
        except Unavailable as exc:
            self.unavailable[target] = str(exc)[:1500]
            self.log(f"   unavailable: {str(exc)[:300]}")
            return
        gateway = server is not self.emulator
        try:
            if server.notes:
                self.notes[target] = server.notes
            spec = request_spec(target, server)
            if gateway:
                self._idle(target, server, spec)
            for body in self.bodies:
                for conc in self.args.concurrency:
                    self._cell(target, server, spec, body, conc, gateway)
            if target in self.args.paired_targets and "direct" in self.args.only:
                for body in self.bodies:
                    self._paired(target, server, spec, body)
            if target == "lockgate1" and "minimal" in self.kept:
                for body in self.bodies:
                    self._cpu_pair(server, spec, body)
            if target in self.args.hold_targets and not self.args.no_hold:
                if target in self.kept:
                    # after the CPU comparison: a thousand held streams leave a bigger heap
                    self.deferred_holds.append((target, server, spec))
                else:
                    self.hold_streams(target, server, spec)
        finally:
            if gateway and target not in self.kept:
                server.stop()

    def _idle(self, target: str, server: Server, spec: dict[str, Any]) -> None:
        """Worker RSS once each kind of request was served once and the worker is idle."""
        for body in self.bodies:
            self._run_spec(server, spec, body, concurrency=1, warmup=0.0, duration=0.3)
        time.sleep(1.0)
        self.idle_rss_mb[target] = max(rss_kib(p)[0] for p in server.workers) / 1024
        self.log(f"   idle worker RSS {self.idle_rss_mb[target]:.1f} MB")

    def _run_spec(
        self,
        server: Server,
        spec: dict[str, Any],
        body: RequestBody,
        concurrency: int,
        warmup: float,
        duration: float,
    ) -> dict[str, Any]:
        assert self.emulator is not None
        gateway = server is not self.emulator
        load = {
            **{k: v for k, v in spec.items() if k not in ("kind", "expect")},
            "body_file": str(self.body_files[(body.label, spec["kind"])]),
            "expect": spec["expect"][0 if body.stream else 1],
            "concurrency": concurrency,
            "warmup": warmup,
            "duration": duration,
            "grace": self.args.grace,
            "min_requests": self.args.min_requests,
            "max_duration": self.args.max_duration,
            "pids": server.pids if gateway else [],
            "emulator_pids": self.emulator.pids,
            "core": self.args.core,
        }
        result = self.loadgen(load, timeout=warmup + self.args.max_duration + self.args.grace + 60)
        self._settle(server)
        return result

    def _settle(self, server: Server, timeout: float = 15.0) -> None:
        """Waits until the target (and the emulator) stop working on requests the
        load generator abandoned, so that they do not cost the next cell."""
        assert self.emulator is not None
        pids = list({*server.pids, *self.emulator.pids})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = sum(cpu_seconds(p) for p in pids)
            time.sleep(0.2)
            if sum(cpu_seconds(p) for p in pids) - before < 0.02:  # < 10% of a core
                return

    def _cell(
        self,
        target: str,
        server: Server,
        spec: dict[str, Any],
        body: RequestBody,
        conc: int,
        gateway: bool,
    ) -> None:
        profiling = self._start_profile(target, server, body, conc)
        raw = self._run_spec(server, spec, body, conc, self.args.warmup, self.args.duration)
        if profiling is not None:
            self._finish_profile(profiling)
        cell = make_cell(target, body.label, conc, raw, gateway, server.workers)
        self.cells.append(cell)
        cpu = f"{cell.cpu_ms_per_req:.2f}" if cell.cpu_ms_per_req is not None else "—"
        self.log(
            f"   {body.label:12} c={conc:<3} {cell.rps:8.1f} req/s  p50 {cell.p50_ms:8.2f} ms  "
            f"p99 {cell.p99_ms:8.2f} ms  ttfb {cell.ttfb_p50_ms:7.2f} ms  cpu {cpu} ms/req  "
            f"errors {cell.errors}"
        )
        if cell.errors:
            self.log(f"     e.g. {cell.error_samples[:2]}")
        for path in self.work.glob("*-file-log.json"):
            os.truncate(path, 0)  # the file-log grows ~2 KB a request

    def _paired(self, target: str, server: Server, spec: dict[str, Any], body: RequestBody) -> None:
        """Concurrency 1, alternating with the direct floor (see ``loadgen._paired``)."""
        assert self.emulator is not None
        sides = []
        for side_spec in (request_spec("direct", self.emulator), spec):
            side = {k: v for k, v in side_spec.items() if k not in ("kind", "expect")}
            side["body_file"] = str(self.body_files[(body.label, side_spec["kind"])])
            side["expect"] = side_spec["expect"][0 if body.stream else 1]
            sides.append(side)
        load = {
            "mode": "paired",
            "pair": sides,
            "warmup": self.args.warmup,
            "duration": self.args.duration,
            "core": self.args.core,
        }
        raw = self.loadgen(load, timeout=self.args.warmup + self.args.duration + 60)
        floor, mine = (paired_stats(side) for side in raw["sides"])
        result = {
            "target": target,
            "body": body.label,
            "requests": mine["requests"],
            "errors": floor["errors"] + mine["errors"],
            "direct_p50_ms": floor["p50_ms"],
            "target_p50_ms": mine["p50_ms"],
            "added_p50_ms": mine["p50_ms"] - floor["p50_ms"],
            "direct_ttfb_p50_ms": floor["ttfb_p50_ms"],
            "target_ttfb_p50_ms": mine["ttfb_p50_ms"],
            "added_ttfb_p50_ms": mine["ttfb_p50_ms"] - floor["ttfb_p50_ms"],
            "added_p99_ms": mine["p99_ms"] - floor["p99_ms"],
        }
        self.paired.append(result)
        self.log(
            f"   paired with direct, {body.label:12} c=1: p50 {mine['p50_ms']:.2f} vs "
            f"{floor['p50_ms']:.2f} ms (+{result['added_p50_ms']:.2f}), TTFB "
            f"+{result['added_ttfb_p50_ms']:.2f} ms, {result['errors']} errors"
        )

    def _cpu_pair(self, server: Server, spec: dict[str, Any], body: RequestBody) -> None:
        """CPU per request of lockgate1 and the minimal translator at c=16 in
        alternating short windows (A B B A ...), so that a change in the
        machine's background load affects both alike; medians are compared."""
        minimal = self.kept["minimal"]
        sides = {
            "lockgate1": (server, spec),
            "minimal": (minimal, request_spec("minimal", minimal)),
        }
        samples: dict[str, list[float]] = {"lockgate1": [], "minimal": []}
        order = ["lockgate1", "minimal"]
        for _ in range(self.args.cpu_rounds):
            for name in order:
                target_server, target_spec = sides[name]
                raw = self._run_spec(
                    target_server, target_spec, body, 16, 0.5, self.args.cpu_window
                )
                if raw["latencies"] and not raw["errors"]:
                    samples[name].append(raw["cpu"] / len(raw["latencies"]) * 1e3)
            order.reverse()
        if not (samples["lockgate1"] and samples["minimal"]):
            return
        lg, py = statistics.median(samples["lockgate1"]), statistics.median(samples["minimal"])
        self.cpu_pairs.append(
            {
                "body": body.label,
                "lockgate1_ms": lg,
                "minimal_ms": py,
                "ratio": lg / py,
                "samples": samples,
            }
        )
        self.log(
            f"   CPU alternating with minimal, {body.label:12} c=16: {lg:.3f} vs {py:.3f} ms/req "
            f"({lg / py:.2f}×; samples {[round(x, 3) for x in samples['lockgate1']]} vs "
            f"{[round(x, 3) for x in samples['minimal']]})"
        )

    def monitoring_pair(self) -> None:
        """CPU per request of one worker with the prometheus plugin (every
        family, ai_metrics on) and the usage ledger, against the same
        configuration without them, at c=16 in alternating windows (A B B A
        ...); medians are compared."""
        assert self.emulator is not None
        probe = self.body_files[("small/json", "anthropic")].read_bytes()
        try:
            plain = start_lockgate(self.work, self.emulator, 1, probe, monitoring=False)
        except Unavailable as exc:
            self.unavailable["monitoring"] = str(exc)[:1500]
            return
        try:
            full = start_lockgate(self.work, self.emulator, 1, probe, monitoring=True)
        except Unavailable as exc:
            plain.stop()
            self.unavailable["monitoring"] = str(exc)[:1500]
            return
        sides = {"plain": plain, "monitoring": full}
        try:
            for body in self.bodies:
                samples: dict[str, list[float]] = {"plain": [], "monitoring": []}
                order = ["plain", "monitoring"]
                for _ in range(max(self.args.cpu_rounds, 1)):
                    for name in order:
                        server = sides[name]
                        spec = request_spec("lockgate1", server)
                        raw = self._run_spec(server, spec, body, 16, 0.5, self.args.cpu_window)
                        if raw["latencies"] and not raw["errors"]:
                            samples[name].append(raw["cpu"] / len(raw["latencies"]) * 1e3)
                    order.reverse()
                    for path in self.work.glob("*-file-log.json"):
                        os.truncate(path, 0)
                if not (samples["plain"] and samples["monitoring"]):
                    continue
                a, b = statistics.median(samples["plain"]), statistics.median(samples["monitoring"])
                self.monitoring.append(
                    {
                        "body": body.label,
                        "plain_ms": a,
                        "monitoring_ms": b,
                        "ratio": b / a,
                        "samples": samples,
                    }
                )
                self.log(
                    f"   {body.label:12} c=16: {b:.3f} ms/req with prometheus and the ledger, "
                    f"{a:.3f} without ({b / a:.3f}×; samples {[round(x, 3) for x in samples['monitoring']]}"
                    f" vs {[round(x, 3) for x in samples['plain']]})"
                )
        finally:
            plain.stop()
            full.stop()

    def limits_cost(self) -> None:
        """CPU per request of one worker with key-auth and
        ai-rate-limiting-advanced (``local``, and ``redis`` against a
        redis-server when one is installed) added to the tutorial's
        configuration (ai-proxy and file-log), against the tutorial alone, at
        c=16 in alternating windows; medians are compared."""
        assert self.emulator is not None
        probe = self.body_files[("small/json", "anthropic")].read_bytes()
        sides: dict[str, Server] = {}
        redis: subprocess.Popen[bytes] | None = None
        try:
            sides["tutorial"] = start_lockgate(self.work, self.emulator, 1, probe)
            sides["local"] = start_lockgate(
                self.work, self.emulator, 1, probe, extra=("limits-local", limits_config("local"))
            )
            binary = shutil.which("redis-server")
            if binary:
                port = free_port()
                redis = subprocess.Popen(
                    [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(0.5)
                sides["redis"] = start_lockgate(
                    self.work,
                    self.emulator,
                    1,
                    probe,
                    extra=("limits-redis", limits_config("redis", port)),
                )
            else:
                self.notes["limits"] = ["redis-server not installed: strategy redis not measured"]
        except Unavailable as exc:
            self.unavailable["limits"] = str(exc)[:1500]
            for server in sides.values():
                server.stop()
            if redis is not None:
                redis.terminate()
            return
        try:
            for body in self.bodies:
                samples: dict[str, list[float]] = {name: [] for name in sides}
                order = list(sides)
                for _ in range(max(self.args.cpu_rounds, 1)):
                    for name in order:
                        server = sides[name]
                        spec = request_spec("lockgate1", server)
                        raw = self._run_spec(server, spec, body, 16, 0.5, self.args.cpu_window)
                        if raw["latencies"] and not raw["errors"]:
                            samples[name].append(raw["cpu"] / len(raw["latencies"]) * 1e3)
                    order.reverse()
                    for path in self.work.glob("*-file-log.json"):
                        os.truncate(path, 0)
                if not all(samples.values()):
                    continue
                medians = {name: statistics.median(values) for name, values in samples.items()}
                base = medians["tutorial"]
                row = {"body": body.label, "tutorial_ms": base, "samples": samples}
                for name in ("local", "redis"):
                    if name in medians:
                        row[f"{name}_ms"] = medians[name]
                        row[f"{name}_ratio"] = medians[name] / base
                self.limits.append(row)
                self.log(
                    f"   {body.label:12} c=16: tutorial {base:.3f} ms/req, "
                    + ", ".join(
                        f"{n} {medians[n]:.3f} ({medians[n] / base:.3f}×)"
                        for n in ("local", "redis")
                        if n in medians
                    )
                )
        finally:
            for server in sides.values():
                server.stop()
            if redis is not None:
                redis.terminate()
                redis.wait(10)

    def responses_cost(self) -> None:
        """CPU per request of one worker for a Responses API stream translated
        to Anthropic against a Chat Completions stream passed through to
        OpenAI, at c=16 in alternating windows; medians are compared."""
        assert self.emulator is not None
        probe = self.body_files[("small/json", "anthropic")].read_bytes()
        try:
            server = start_lockgate(
                self.work, self.emulator, 1, probe, config=responses_config(self.emulator)
            )
        except Unavailable as exc:
            self.unavailable["responses"] = str(exc)[:1500]
            return
        try:
            for body in self.bodies:
                if not body.stream:
                    continue
                order = ["chat", "responses", "anthropic", "chat_anthropic"]
                samples: dict[str, list[float]] = {name: [] for name in order}
                for _ in range(max(self.args.cpu_rounds, 1)):
                    for name in order:
                        spec = client_spec(server, name)
                        raw = self._run_spec(server, spec, body, 16, 0.5, self.args.cpu_window)
                        if raw["latencies"] and not raw["errors"]:
                            samples[name].append(raw["cpu"] / len(raw["latencies"]) * 1e3)
                        elif raw["errors"]:
                            self.log(
                                f"     {name}: errors, e.g. {raw.get('error_samples', [])[:2]}"
                            )
                    order.reverse()
                    for path in self.work.glob("*-file-log.json"):
                        os.truncate(path, 0)
                if not (samples["chat"] and samples["responses"]):
                    continue
                chat = statistics.median(samples["chat"])
                resp = statistics.median(samples["responses"])
                native = statistics.median(samples["anthropic"]) if samples["anthropic"] else 0.0
                chat_anthropic = (
                    statistics.median(samples["chat_anthropic"])
                    if samples["chat_anthropic"]
                    else 0.0
                )
                self.responses.append(
                    {
                        "body": body.label,
                        "chat_openai_ms": chat,
                        "responses_anthropic_ms": resp,
                        "ratio": resp / chat,
                        "anthropic_passthrough_ms": native,
                        "chat_anthropic_ms": chat_anthropic,
                        "samples": samples,
                    }
                )
                self.log(
                    f"   {body.label:12} c=16: Responses stream to Anthropic {resp:.3f} ms/req, "
                    f"Chat stream to OpenAI {chat:.3f} ({resp / chat:.3f}×), Anthropic stream "
                    f"passed through {native:.3f}, Chat stream to Anthropic {chat_anthropic:.3f}; "
                    "samples "
                    f"{[round(x, 3) for x in samples['responses']]} vs "
                    f"{[round(x, 3) for x in samples['chat']]} vs "
                    f"{[round(x, 3) for x in samples['anthropic']]} vs "
                    f"{[round(x, 3) for x in samples['chat_anthropic']]}"
                )
        finally:
            server.stop()

    def hold_streams(self, target: str, server: Server, spec: dict[str, Any]) -> None:
        for name in self.args.hold_bodies:
            streams, chunks, slow = (
                self.args.hold_streams,
                self.args.hold_chunks,
                self.args.hold_slow,
            )
            path = self.work / f"hold-{name}.json"
            path.write_bytes(slow_stream_body(name, chunks, slow))
            load = {
                **{k: v for k, v in spec.items() if k not in ("kind", "expect")},
                "mode": "hold",
                "body_file": str(path),
                "expect": "message_stop",
                "concurrency": streams,
                "ramp": self.args.hold_ramp,
                "pids": server.workers,
                "core": self.args.core,
                "timeout": 120,
            }
            raw = self.loadgen(load, timeout=180)
            peak = max(raw["peak_rss_kib"].values(), default=0) / 1024
            lat = sorted(raw["latencies"])
            result = {
                "target": target,
                "body": name,
                "streams": streams,
                "chunks": chunks,
                "slow_ms": slow,
                "peak_open": raw["peak_open"],
                "completed": raw["requests"],
                "errors": raw["errors"],
                "error_samples": raw["error_samples"],
                "peak_worker_rss_mb": peak,
                "elapsed_s": raw["elapsed"],
                "p50_s": lat[len(lat) // 2] if lat else None,
                "max_s": lat[-1] if lat else None,
                "cpu_ms_per_stream": raw["cpu"] / max(1, raw["requests"]) * 1e3,
            }
            self.holds.append(result)
            self.log(
                f"   hold {name}: {streams} streams ({chunks} chunks, {slow} ms apart): "
                f"{raw['peak_open']} open at once, {raw['errors']} errors, "
                f"peak worker RSS {peak:.1f} MB"
            )

    # ------------------------------------------------------------- profiling

    def _start_profile(
        self, target: str, server: Server, body: RequestBody, conc: int
    ) -> tuple[subprocess.Popen[bytes], Path] | None:
        want = self.args.profile
        if not want or (target, body.label, conc) != ("lockgate1", want, 16):
            return None
        pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(pyspy).exists():
            self.profile = "py-spy is not installed (pip install py-spy)"
            return None
        out = self.work / "profile-stacks.txt"
        duration = int(self.args.warmup + self.args.duration)
        cmd = [pyspy, "record", "--format", "raw", "-r", "250", "-d", str(duration)]
        cmd += ["-o", str(out), "--pid", str(server.workers[0])]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out

    def _finish_profile(self, profiling: tuple[subprocess.Popen[bytes], Path]) -> None:
        from profile_summary import summarize

        proc, out = profiling
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.terminate()
        self.profile = summarize(out, top=30) if out.exists() else "py-spy wrote no profile"


# ------------------------------------------------------------------------ output


def _environment() -> dict[str, Any]:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=BENCH, capture_output=True, text=True)
        return proc.stdout.strip()

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_files": len(git("status", "--porcelain").splitlines()),
    }


def write_results(bench: Bench, args: argparse.Namespace, meta: dict[str, Any]) -> Path:
    targets = [t for t in ALL_TARGETS if t in args.only]
    verdicts = evaluate_targets(
        bench.cells,
        bench.holds,
        bench.paired,
        bench.cpu_pairs,
        bench.idle_rss_mb,
        SCALING_CONCURRENCY,
        summarize_scaling(bench.scaling),
    )
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = meta["started"].replace(":", "").replace("-", "")[:15]
    data = {
        **meta,
        "settings": {k: v for k, v in vars(args).items() if k not in ("func",) and not callable(v)},
        "cells": [c.to_json() for c in bench.cells],
        "hold": bench.holds,
        "paired": bench.paired,
        "cpu_alternating": bench.cpu_pairs,
        "idle_worker_rss_mb": bench.idle_rss_mb,
        "unavailable": bench.unavailable,
        "notes": bench.notes,
        "scaling": [r.to_json() for r in bench.scaling],
        "scaling_summary": summarize_scaling(bench.scaling),
        "targets": [v.__dict__ for v in verdicts],
        "profile": bench.profile,
        "monitoring": bench.monitoring,
        "limits": bench.limits,
        "responses": bench.responses,
    }
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(data, indent=1))
    lines = [
        f"# lockgate benchmark {meta['started']}",
        "",
        f"{meta['environment']['platform']}, {meta['environment']['cpus']} CPUs, Python "
        f"{meta['environment']['python']}, commit {meta['environment']['commit']} "
        f"(+{meta['environment']['uncommitted_files']} uncommitted files). "
        f"Load average {meta['load_before']} before, {meta['load_after']} after; "
        f"{meta['elapsed_s']:.0f} s. Load generator pinned to core {args.core}; "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured per cell.",
        "",
        "Ratios are against floors measured in the same run: ×direct = req/s over the "
        "emulator's; +p50 / +TTFB = minus the emulator's; ×minimal = CPU over the minimal "
        "translator's. CPU ms/req: the target's processes (utime+stime from /proc/<pid>/stat, "
        "lockgate's supervisor and workers together) over the window, divided by the requests "
        "completed in it. RSS: all the target's processes at the end of the window. The "
        "emulator, the targets and the load generator share the machine: the load generator "
        "(one process, asyncio, keep-alive HTTP/1.1) is pinned to one core, nothing else is "
        "pinned, so two workers compete with the emulator and the load generator for the "
        "second core. bg cores: CPU used by every other process on the machine during the "
        "window (other people's work disturbs that cell).",
        "",
        markdown(bench.cells, targets),
        paired_markdown(bench.paired),
        cpu_pairs_markdown(bench.cpu_pairs),
        scaling_markdown(bench.cells, SCALING_CONCURRENCY),
        scaling_table(bench.scaling, SCALING_CONCURRENCY, args.core) if bench.scaling else "",
        "## Targets",
        "",
        *[v.line() for v in verdicts],
        "",
    ]
    if bench.holds:
        lines += ["## Concurrent slow streams", ""]
        for h in bench.holds:
            lines.append(
                f"- {h['target']}, {h['body']}: {h['streams']} streams of {h['chunks']} chunks {h['slow_ms']} ms "
                f"apart, {h['peak_open']} open at once, {h['completed']} completed, "
                f"{h['errors']} errors, peak worker RSS {h['peak_worker_rss_mb']:.0f} MB, "
                f"CPU {h['cpu_ms_per_stream']:.2f} ms/stream"
            )
        lines.append("")
    if bench.monitoring:
        lines += [
            "## Monitoring cost",
            "",
            "CPU per request of one worker at c=16 with the prometheus plugin (every family, "
            "`ai_metrics: true`) and the usage ledger on, against the same configuration "
            "without them (ledger off), in alternating windows; medians.",
            "",
            "| body | without ms/req | with ms/req | ratio |",
            "|---|---:|---:|---:|",
            *[
                f"| {m['body']} | {m['plain_ms']:.3f} | {m['monitoring_ms']:.3f} | {m['ratio']:.3f}× |"
                for m in bench.monitoring
            ],
            "",
        ]
    if bench.limits:
        lines += [
            "## Limits cost",
            "",
            "CPU per request of one worker at c=16 with key-auth and ai-rate-limiting-advanced "
            "added to the tutorial's configuration (ai-proxy, file-log), against the tutorial "
            "alone, in alternating windows; medians. Targets: 1.15× (local), 1.3× (redis).",
            "",
            "| body | tutorial ms/req | local ms/req | ratio | redis ms/req | ratio |",
            "|---|---:|---:|---:|---:|---:|",
            *[
                f"| {m['body']} | {m['tutorial_ms']:.3f} | {m.get('local_ms', 0):.3f} | "
                f"{m.get('local_ratio', 0):.3f}× | {m.get('redis_ms', 0):.3f} | "
                f"{m.get('redis_ratio', 0):.3f}× |"
                for m in bench.limits
            ],
            "",
        ]
    if bench.responses:
        lines += [
            "## Responses API clients",
            "",
            "CPU per request of one worker at c=16: an OpenAI Responses API stream translated "
            "to Anthropic against a Chat Completions stream passed through to OpenAI (the same "
            "conversation; the emulator answers both), in alternating windows; medians. "
            "Target: 1.2×. For reference, an Anthropic client passed through to Anthropic "
            "(what the upstream's own stream costs untranslated) and a Chat client translated "
            "to Anthropic (the existing translation of the same stream).",
            "",
            "| body | Chat to OpenAI ms/req | Responses to Anthropic ms/req | ratio | "
            "Anthropic passed through ms/req | Chat to Anthropic ms/req |",
            "|---|---:|---:|---:|---:|---:|",
            *[
                f"| {m['body']} | {m['chat_openai_ms']:.3f} | {m['responses_anthropic_ms']:.3f} | "
                f"{m['ratio']:.3f}× | {m['anthropic_passthrough_ms']:.3f} | "
                f"{m['chat_anthropic_ms']:.3f} |"
                for m in bench.responses
            ],
            "",
        ]
    if bench.idle_rss_mb:
        idle = ", ".join(f"{k} {v:.1f} MB" for k, v in bench.idle_rss_mb.items())
        lines += [f"Idle worker RSS after warm-up: {idle}.", ""]
    if bench.unavailable:
        lines += ["## Unavailable", ""]
        lines += [f"- {k}: {v}" for k, v in bench.unavailable.items()] + [""]
    if bench.notes:
        lines += ["## Notes", ""]
        lines += [f"- {k}: {'; '.join(v)}" for k, v in bench.notes.items()] + [""]
    if bench.profile:
        lines += [f"## Profile: lockgate1 worker, {args.profile}, c=16 (py-spy)", ""]
        lines += ["```", bench.profile, "```", ""]
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text("\n".join(lines))
    print("\n".join(lines))
    return json_path


# --------------------------------------------------------------------------- cli


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short cells: a smoke check")
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_TARGETS),
        help=f"comma list of targets: {', '.join(ALL_TARGETS)}; lockgate = lockgate1,lockgate2",
    )
    parser.add_argument("--bodies", default=",".join(BODY_LABELS), help="comma list of bodies")
    parser.add_argument("--concurrency", default="1,16,64", help="comma list")
    parser.add_argument("--warmup", type=float, help="seconds per cell before measuring")
    parser.add_argument("--duration", type=float, help="measured seconds per cell")
    parser.add_argument("--grace", type=float, default=1.0, help="seconds for in-flight requests")
    parser.add_argument("--min-requests", type=int, help="extend a cell until this many completed")
    parser.add_argument("--max-duration", type=float, help="longest measured window (seconds)")
    parser.add_argument("--core", type=int, default=0, help="core the load generator is pinned to")
    parser.add_argument("--hold-streams", type=int, help="concurrent slow streams (default 1000)")
    parser.add_argument("--hold-chunks", type=int, help="chunks per slow stream")
    parser.add_argument("--hold-slow", type=int, help="ms between the chunks of a slow stream")
    parser.add_argument("--hold-ramp", type=float, help="seconds over which streams are opened")
    parser.add_argument("--hold-bodies", default="small,cc", help="bodies of the hold test")
    parser.add_argument(
        "--hold-targets", default="minimal,lockgate1", help="targets of the hold test"
    )
    parser.add_argument(
        "--paired-targets",
        default="minimal,lockgate1",
        help="targets whose c=1 latency is also measured alternating with direct",
    )
    parser.add_argument("--no-hold", action="store_true", help="skip the concurrent-streams test")
    parser.add_argument(
        "--cpu-rounds",
        type=int,
        help="alternating lockgate1/minimal CPU windows per body (0: none)",
    )
    parser.add_argument("--cpu-window", type=float, help="seconds of each alternating window")
    parser.add_argument(
        "--scaling-rounds",
        type=int,
        help="alternating 1-/2-worker wrk runs per body against nginx (0: none; needs wrk, nginx)",
    )
    parser.add_argument("--scaling-seconds", type=float, help="seconds of each wrk run")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cc/stream",
        default=None,
        help="py-spy the lockgate1 worker during this body's c=16 cell (default cc/stream)",
    )
    parser.add_argument("--out", default=str(BENCH / "results"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    only = {t.strip() for t in args.only.split(",") if t.strip()}
    if "lockgate" in only:
        only |= {"lockgate1", "lockgate2"}
    unknown = only - set(ALL_TARGETS) - {"lockgate"}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    args.only = [t for t in ALL_TARGETS if t in only]
    args.bodies = [b.strip() for b in args.bodies.split(",") if b.strip()]
    if set(args.bodies) - set(BODY_LABELS):
        parser.error(f"bodies are among {', '.join(BODY_LABELS)}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    quick = args.quick
    defaults = {
        "warmup": 0.3 if quick else 1.0,
        "duration": 1.2 if quick else 3.0,
        "min_requests": 5 if quick else 30,
        "max_duration": 4.0 if quick else 15.0,
        "hold_streams": 200 if quick else 1000,
        "hold_chunks": 20 if quick else 40,
        "hold_slow": 50 if quick else 250,
        "hold_ramp": 0.5 if quick else 3.0,
        "cpu_rounds": 1 if quick else 5,
        "cpu_window": 0.8 if quick else 2.0,
        "scaling_rounds": 1 if quick else 5,
        "scaling_seconds": 2.0 if quick else 3.0,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.hold_bodies = [b.strip() for b in args.hold_bodies.split(",") if b.strip()]
    args.hold_targets = [t.strip() for t in args.hold_targets.split(",") if t.strip()]
    args.paired_targets = [t.strip() for t in args.paired_targets.split(",") if t.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now().isoformat(timespec="seconds")
    t0 = time.monotonic()
    load_before = [round(x, 2) for x in os.getloadavg()]
    work = Path(tempfile.mkdtemp(prefix="lockgate-bench-"))
    bench = Bench(args, work)
    print(f"lockgate bench: targets {', '.join(args.only)}; work directory {work}", flush=True)
    try:
        bench.emulator = start_emulator(work)
        for target in args.only:
            bench.run_target(target)
        for target, server, spec in bench.deferred_holds:
            bench.log(f"== {target} (held streams)")
            bench.hold_streams(target, server, spec)
        if args.scaling_rounds and {"lockgate1", "lockgate2"} <= set(args.only):
            bench.log("== worker scaling (wrk and nginx on one core)")
            try:
                bench.scaling = measure_scaling(
                    work,
                    bench.emulator,
                    bench.bodies,
                    concurrency=SCALING_CONCURRENCY,
                    seconds=args.scaling_seconds,
                    rounds=args.scaling_rounds,
                    core=args.core,
                    log=bench.log,
                )
            except Unavailable as exc:
                bench.unavailable["scaling"] = str(exc)[:1500]
                bench.log(f"   unavailable: {str(exc)[:300]}")
    finally:
        for server in bench.kept.values():
            server.stop()
        if bench.emulator is not None:
            bench.emulator.stop()
    meta = {
        "started": started,
        "elapsed_s": time.monotonic() - t0,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "environment": _environment(),
    }
    path = write_results(bench, args, meta)
    print(f"\nresults: {path} and {path.with_suffix('.md')}")
    if args.keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
