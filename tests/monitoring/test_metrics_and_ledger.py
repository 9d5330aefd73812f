"""Monitoring through real processes: a gateway with two workers, the
emulator as the provider, the prometheus plugin and file-log on, and the
usage ledger. The metrics and the ledger must say exactly what the file-log
records say."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import (
    GatewayProcess,
    free_port,
    lockgate_cmd,
    run_lockgate,
    start_emulator,
    start_gateway,
)

SESSION = "5f0c3c2e-monitoring-session"
INPUT_COST, OUTPUT_COST = 3.0, 15.0


def config(emulator: str, log_path: Path, *, prometheus: bool = True) -> str:
    text = f"""_format_version: "3.0"
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
  - username: bob
    keyauth_credentials:
      - key: bob-key
services:
  - name: llm
    url: http://127.0.0.1:9/
    routes:
      - name: chat
        paths: ["/chat"]
        plugins:
          - name: key-auth
          - name: ai-proxy
            config:
              llm_format: anthropic
              route_type: llm/v1/chat
              logging:
                log_statistics: true
              auth:
                header_name: Authorization
                header_value: Bearer sk-emulated
              model:
                provider: openai
                name: gpt-4o-mini
                options:
                  upstream_url: {emulator}/openai/v1/chat/completions
                  input_cost: {INPUT_COST}
                  output_cost: {OUTPUT_COST}
plugins:
  - name: file-log
    config:
      path: {log_path}
"""
    if prometheus:
        text += """  - name: prometheus
    config:
      per_consumer: true
      status_code_metrics: true
      latency_metrics: true
      bandwidth_metrics: true
      upstream_health_metrics: true
      ai_metrics: true
"""
    return text


def ask(gw: GatewayProcess, key: str, text: str, *, stream: bool) -> int:
    body = {
        "model": "gpt-4o-mini",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }
    req = urllib.request.Request(
        gw.proxy_url + "/chat/v1/messages",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "anthropic-version": "2023-06-01",
            "apikey": key,
            "X-Claude-Code-Session-Id": SESSION,
            "Connection": "close",  # fresh connections spread over both workers
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples by (name, labels); label values here never hold commas or quotes."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels = frozenset(
            (k, v.strip('"'))
            for k, _, v in (pair.partition("=") for pair in rest.rstrip("}").split(",") if pair)
        )
        samples[(name, labels)] = float(value)
    return samples


def total(samples: dict[Any, float], name: str, **match: str) -> float:
    return sum(
        v
        for (n, labels), v in samples.items()
        if n == name and all((k, want) in labels for k, want in match.items())
    )


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_rows(gw: GatewayProcess, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        status, raw = get(gw.admin_url + "/ai/requests?limit=1000")
        assert status == 200, raw
        rows: list[dict[str, Any]] = json.loads(raw)["data"]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


@pytest.fixture(scope="module")
def traffic(
    tmp_path_factory: pytest.TempPathFactory, emulator: str
) -> Iterator[tuple[GatewayProcess, int, Path]]:
    """A gateway after known traffic: 12 requests by alice, 8 by bob, half streamed,
    and 2 refused by key-auth (no AI call, no ledger row)."""
    tmp = tmp_path_factory.mktemp("monitoring")
    status_port = free_port()
    log_path = tmp / "file-log.json"
    with start_gateway(
        tmp, workers=2, env={"LOCKGATE_STATUS_LISTEN": f"127.0.0.1:{status_port}"}
    ) as gw:
        applied = gw.apply(config(emulator, log_path))
        assert applied.returncode == 0, applied.stderr
        gw.wait_config()
        jobs = [("alice-key", i % 2 == 0, f"question {i}") for i in range(12)]
        jobs += [("bob-key", i % 2 == 1, f"bob asks {i} " + "x" * 40 * i) for i in range(8)]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda j: ask(gw, j[0], j[2], stream=j[1]), jobs))
        assert statuses == [200] * 20
        assert ask(gw, "wrong-key", "who am I", stream=False) == 401
        assert ask(gw, "", "nobody", stream=True) == 401
        deadline = time.monotonic() + 10
        while (
            not log_path.exists() or len(records(log_path)) < 22
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
        # Workers write their totals once a second.
        while time.monotonic() < deadline:
            samples = parse_metrics(get(gw.admin_url + "/metrics")[1].decode())
            if total(samples, "kong_http_requests_total") >= 22:
                break
            time.sleep(0.2)
        yield gw, status_port, log_path


def test_metrics_match_the_file_log(traffic: tuple[GatewayProcess, int, Path]) -> None:
    gw, status_port, log_path = traffic
    logged = records(log_path)
    ai = [r for r in logged if "ai" in r]
    assert len(logged) == 22 and len(ai) == 20
    status, raw = get(gw.admin_url + "/metrics")
    assert status == 200
    samples = parse_metrics(raw.decode())
    # Counted over both workers: every request once.
    assert total(samples, "kong_http_requests_total") == 22
    assert total(samples, "kong_http_requests_total", code="200", source="service") == 20
    assert total(samples, "kong_http_requests_total", code="401", source="kong") == 2
    assert total(samples, "kong_http_requests_total", consumer="alice") == 12
    assert total(samples, "kong_request_latency_ms_count", route="chat", service="llm") == 22
    assert total(samples, "kong_upstream_latency_ms_count") == 20
    assert total(samples, "kong_ai_llm_requests_total") == 20
    assert total(samples, "kong_ai_llm_requests_total", consumer="bob") == 8
    assert total(samples, "kong_ai_llm_requests_total", request_mode="stream") == 10
    assert total(samples, "kong_ai_llm_provider_latency_ms_count", ai_provider="openai") == 20
    for token_type in ("prompt_tokens", "completion_tokens", "total_tokens"):
        expected = sum(r["ai"]["proxy"]["usage"][token_type] for r in ai)
        assert expected > 0
        assert (
            total(
                samples, "kong_ai_llm_tokens_total", token_type=token_type, ai_model="gpt-4o-mini"
            )
            == expected
        )
    cost = sum(r["ai"]["proxy"]["usage"]["cost"] for r in ai)
    assert cost > 0
    assert total(samples, "kong_ai_llm_cost_total") == pytest.approx(cost, rel=1e-9)
    ingress = sum(r["request"]["size"] for r in logged)
    egress = sum(r["response"]["size"] for r in logged)
    assert total(samples, "kong_bandwidth_bytes", direction="ingress") == ingress
    assert total(samples, "kong_bandwidth_bytes", direction="egress") == egress
    assert "kong_bandwidth_bytes_total" not in raw.decode()
    assert "# TYPE kong_bandwidth_bytes counter" in raw.decode()
    assert total(samples, "kong_datastore_reachable") == 1
    # The status listener serves the same families.
    status, raw_status = get(f"http://127.0.0.1:{status_port}/metrics")
    assert status == 200
    assert total(parse_metrics(raw_status.decode()), "kong_ai_llm_requests_total") == 20


def test_kong_buckets(traffic: tuple[GatewayProcess, int, Path]) -> None:
    """Kong's buckets (exporter.lua), so its dashboards' quantiles read the same."""
    gw, _, _ = traffic
    samples = parse_metrics(get(gw.admin_url + "/metrics")[1].decode())
    kong = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000]
    upstream = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000]
    ai = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 10000, 30000, 60000]
    for family, buckets in (
        ("kong_kong_latency_ms", kong),
        ("kong_upstream_latency_ms", upstream),
        ("kong_request_latency_ms", upstream),
        ("kong_ai_llm_provider_latency_ms", ai),
    ):
        les = sorted(
            {float(dict(labels)["le"]) for name, labels in samples if name == family + "_bucket"}
        )
        assert les == [*buckets, float("inf")], family


def test_promtool_accepts_the_metrics(traffic: tuple[GatewayProcess, int, Path]) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: make test installs Debian's prometheus package"
    gw, _, _ = traffic
    raw = get(gw.admin_url + "/metrics")[1]
    result = subprocess.run(
        [promtool, "check", "metrics"], input=raw, capture_output=True, timeout=30, check=False
    )
    findings = [
        line for line in (result.stdout + result.stderr).decode().splitlines() if line.strip()
    ]
    # Only the lint findings Kong's own names cause: milliseconds in the
    # histogram names, and the bandwidth counter without _total.
    allowed = {
        f"{name} metric names should not contain abbreviated units"
        for name in (
            "kong_kong_latency_ms",
            "kong_upstream_latency_ms",
            "kong_request_latency_ms",
            "kong_ai_llm_provider_latency_ms",
        )
    }
    allowed.add('kong_bandwidth_bytes counter metrics should have "_total" suffix')
    assert set(findings) == allowed, findings
    assert len(findings) == len(allowed)


def test_status_ready(traffic: tuple[GatewayProcess, int, Path]) -> None:
    _, status_port, _ = traffic
    status, raw = get(f"http://127.0.0.1:{status_port}/status/ready")
    assert status == 200 and json.loads(raw) == {"message": "ready"}


def test_ledger_has_one_row_per_ai_request(traffic: tuple[GatewayProcess, int, Path]) -> None:
    gw, _, log_path = traffic
    ai = {r["request"]["id"]: r for r in records(log_path) if "ai" in r}
    rows = wait_rows(gw, 20)
    assert len(rows) == 20
    assert {row["request_id"] for row in rows} == set(ai)
    for row in rows:
        record = ai[row["request_id"]]
        usage, meta = record["ai"]["proxy"]["usage"], record["ai"]["proxy"]["meta"]
        assert row["consumer"] == record["consumer"]["username"]
        assert (row["route"], row["service"], row["provider"]) == ("chat", "llm", "openai")
        assert row["request_model"] == meta["request_model"] == "gpt-4o-mini"
        assert row["response_model"] == meta["response_model"]
        assert row["prompt_tokens"] == usage["prompt_tokens"]
        assert row["completion_tokens"] == usage["completion_tokens"]
        assert row["cost"] == pytest.approx(usage["cost"], rel=1e-12)
        assert row["mode"] == meta["request_mode"]
        assert row["status"] == 200
        assert row["session_id"] == SESSION
        assert row["ttft_ms"] is not None and row["latency_ms"] >= 0
    times = [row["time"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_usage_totals_and_pages(traffic: tuple[GatewayProcess, int, Path]) -> None:
    gw, _, log_path = traffic
    ai = [r for r in records(log_path) if "ai" in r]
    wait_rows(gw, 20)
    status, raw = get(gw.admin_url + "/ai/usage?from=1h&group_by=consumer")
    assert status == 200
    body = json.loads(raw)
    by = {g["key"]: g for g in body["data"]}
    assert set(by) == {"alice", "bob"}
    for name, count in (("alice", 12), ("bob", 8)):
        mine = [r for r in ai if r["consumer"]["username"] == name]
        assert by[name]["requests"] == count
        assert by[name]["prompt_tokens"] == sum(
            r["ai"]["proxy"]["usage"]["prompt_tokens"] for r in mine
        )
        assert by[name]["cost"] == pytest.approx(
            sum(r["ai"]["proxy"]["usage"]["cost"] for r in mine)
        )
    assert body["total"]["requests"] == 20
    status, raw = get(gw.admin_url + "/ai/usage?group_by=day&consumer=bob")
    day = json.loads(raw)
    assert status == 200 and [g["requests"] for g in day["data"]] == [8]
    # Pages of 7: 7, 7, 6, each older than the last.
    seen: list[str] = []
    before = ""
    for expected in (7, 7, 6):
        status, raw = get(gw.admin_url + f"/ai/requests?limit=7{before}")
        page = json.loads(raw)
        assert status == 200 and len(page["data"]) == expected
        seen += [row["request_id"] for row in page["data"]]
        before = f"&before={page['next']}" if page["next"] else ""
    assert len(set(seen)) == 20
    status, raw = get(gw.admin_url + "/ai/usage?group_by=colour")
    assert status == 400 and json.loads(raw)["name"] == "invalid options"
    assert get(gw.admin_url + "/ai/requests?limit=0")[0] == 400


def test_usage_command_prints_a_table(traffic: tuple[GatewayProcess, int, Path]) -> None:
    gw, _, _ = traffic
    wait_rows(gw, 20)
    result = run_lockgate(
        ["usage", "--since", "1d", "--by", "consumer"], env={"LOCKGATE_ADMIN_URL": gw.admin_url}
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    alice = next(line for line in lines if line.startswith("alice"))
    assert alice.split()[1] == "12"
    total_line = next(line for line in lines if line.startswith("TOTAL"))
    assert total_line.split()[1] == "20"
    refused = run_lockgate(["usage", "--admin-url", f"http://127.0.0.1:{free_port()}"])
    assert refused.returncode == 1 and "could not reach the Admin API" in refused.stderr


def test_no_row_lost_on_graceful_stop_and_retention(tmp_path: Path, emulator: str) -> None:
    """Rows still queued when the gateway stops are written before it exits;
    rows past retention are deleted at start."""
    from lockgate.usage.sqlite import SQLiteUsage

    prefix = tmp_path / "prefix"
    prefix.mkdir()
    seeded = SQLiteUsage(str(prefix / "lockgate.db"))
    old = (
        time.time() - 40 * 86400,
        "old-request",
        None,
        None,
        None,
        "openai",
        "m",
        "m",
        1,
        1,
        0,
        0,
        0.0,
        1,
        1,
        1,
        200,
        "oneshot",
        None,
    )
    seeded.write_now([old, (time.time() - 86400, "recent", *old[2:])])
    seeded.close_now()
    log_path = tmp_path / "file-log.json"
    with start_gateway(tmp_path, workers=2, env={"LOCKGATE_USAGE_RETENTION_DAYS": "30"}) as gw:
        assert gw.apply(config(emulator, log_path, prometheus=False)).returncode == 0
        gw.wait_config()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda i: ask(gw, "alice-key", f"q{i}", stream=i % 2 == 0), range(16))
            )
        assert statuses == [200] * 16
        assert gw.stop() == 0  # at once: rows are still queued in the workers
    ids = {r["request"]["id"] for r in records(log_path)}
    with sqlite3.connect(prefix / "lockgate.db") as db:
        stored = {row[0] for row in db.execute("SELECT request_id FROM usage_requests")}
    assert stored == ids | {"recent"}


def test_ledger_off(tmp_path: Path, emulator: str) -> None:
    log_path = tmp_path / "file-log.json"
    with start_gateway(tmp_path, env={"LOCKGATE_USAGE_LEDGER": "off"}) as gw:
        assert gw.apply(config(emulator, log_path, prometheus=False)).returncode == 0
        gw.wait_config()
        assert ask(gw, "alice-key", "hello", stream=False) == 200
        time.sleep(1.5)
        status, raw = get(gw.admin_url + "/ai/requests")
        assert status == 200 and json.loads(raw)["data"] == []


def test_readme_monitoring_command(tmp_path: Path) -> None:
    """The README's line that turns the prometheus plugin on works as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Monitoring\n", 1)[1].split("\n## ", 1)[0]
    (line,) = [ln for ln in section.splitlines() if "| lockgate gateway apply -" in ln]
    with start_gateway(tmp_path) as gw:
        result = subprocess.run(
            ["bash", "-c", line.replace("lockgate ", f"{' '.join(lockgate_cmd())} ", 1)],
            capture_output=True,
            text=True,
            env={**os.environ, "LOCKGATE_ADMIN_URL": gw.admin_url},
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        status, body = gw.admin("GET", "/plugins")
        assert status == 200
        (plugin,) = body["data"]
        assert plugin["name"] == "prometheus" and plugin["config"]["ai_metrics"] is True
        assert get(gw.admin_url + "/metrics")[0] == 200
