"""Traditional mode: several ``lockgate start`` processes (separate prefixes
and ports) on one real PostgreSQL database.

- a change through either node's Admin API is served by every worker of the
  other node; both serve the OpenAI tutorial's AI route (Claude Code's
  Anthropic format to the OpenAI emulator) and write their file-log records;
- PostgreSQL stopped for ~10 s in the middle of steady traffic: no proxied
  request fails, Admin API writes answer 503 during the outage and work again
  after it, without restarting a node;
- writes at the same instant on both nodes each land or answer 409;
- readiness: a worker that has no configuration yet (the store is away when
  it starts) keeps ``GET /status/ready`` at 503 until it has one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.support.postgres import PASSWORD, postgres_server
from tests.support.processes import GatewayProcess, start_emulator, start_gateway

CONFIG = """
_format_version: "3.0"
services:
  - name: example-service
    url: http://localhost
    routes:
      - name: example-route
        paths: ["/anything"]
plugins:
  - name: ai-proxy
    config:
      llm_format: anthropic
      route_type: llm/v1/chat
      auth:
        header_name: Authorization
        header_value: Bearer sk-openai-secret
        allow_override: false
      model:
        provider: openai
        name: gpt-5-mini
        options:
          upstream_url: "{emulator}/openai/v1/chat/completions"
      max_request_body_size: 524288
  - name: file-log
    config:
      path: "{log}"
"""

TAG = "x-node-test"


def _ask(proxy_url: str, path: str = "/anything", tag: str = "") -> int:
    """One Claude Code-shaped request; its HTTP status, or 0 when the connection failed."""
    body = {
        "model": "gpt-5-mini",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    req = urllib.request.Request(
        f"{proxy_url}{path}/v1/messages?beta=true",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": "sk-client-dummy",
            TAG: tag,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
            assert answer["type"] == "message" and answer["role"] == "assistant", answer
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _until(check: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _ready(gw: GatewayProcess) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(gw.admin_url + "/status/ready", timeout=10) as resp:
            return int(resp.status), json.loads(resp.read())["message"]
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())["message"]


@contextmanager
def _nodes(tmp: Path, url: str, count: int = 2, workers: int = 2) -> Iterator[list[GatewayProcess]]:
    with ExitStack() as stack:
        for i in range(count):
            (tmp / f"node{i}").mkdir()
        nodes = [
            stack.enter_context(
                start_gateway(tmp / f"node{i}", workers=workers, env={"LOCKGATE_STORE": url})
            )
            for i in range(count)
        ]
        for node in nodes:
            _until(lambda n=node: _ready(n)[0] == 200, "node ready")
        yield nodes


def _no_password_anywhere(*nodes: GatewayProcess) -> None:
    for node in nodes:
        assert PASSWORD not in node.log_path.read_text() + node.error_log()


def test_a_change_on_one_node_is_served_by_the_other(tmp_path: Path, pg_url: str) -> None:
    log = tmp_path / "claude.json"
    with start_emulator() as emulator, _nodes(tmp_path, pg_url) as (a, b):
        applied = a.apply(CONFIG.format(emulator=emulator, log=log), command="sync")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        # Each request opens its own connection, so both workers of b take some.
        _until(lambda: _ask(b.proxy_url) == 200, "node b serves node a's configuration")
        before = len(_records(log))
        statuses = [
            _ask(node.proxy_url, tag=f"{name}-{i}")
            for i in range(10)
            for name, node in (("a", a), ("b", b))
        ]
        assert statuses == [200] * 20

        # The other way: a route added through b's Admin API reaches a.
        status, _ = b.admin(
            "POST", "/services/example-service/routes", {"name": "second", "paths": ["/second"]}
        )
        assert status == 201
        _until(lambda: _ask(a.proxy_url, "/second") == 200, "node a serves node b's new route")
        assert [_ask(a.proxy_url, "/second", tag=f"second-{i}") for i in range(10)] == [200] * 10

        _until(lambda: len(_records(log)) >= before + 30, "file-log records")
        tagged = {
            r["request"]["headers"].get(TAG): r
            for r in _records(log)
            if r["request"]["headers"].get(TAG)
        }
        assert len(tagged) == 30  # every request logged, once
        for tag, record in tagged.items():
            assert record["response"]["status"] == 200
            assert record["route"]["name"] == (
                "second" if tag.startswith("second") else "example-route"
            )
            assert record["ai"]["proxy"]["meta"]["provider_name"] == "openai"
            assert record["ai"]["proxy"]["usage"]["total_tokens"] > 0
        # Writes at the same instant on both nodes: each lands or answers 409, none is lost.
        answers: list[tuple[str, int]] = []

        def write(node: GatewayProcess, name: str) -> None:
            status, _ = node.admin("POST", "/services", {"name": name, "url": "http://h"})
            answers.append((name, status))

        writers = [
            threading.Thread(target=write, args=(node, f"w{i}"))
            for i in range(12)
            for node in ((a, b)[i % 2],)
        ]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        assert {status for _, status in answers} <= {201, 409}
        landed = {name for name, status in answers if status == 201}
        for node in (a, b):
            _, services = node.admin("GET", "/services?size=1000")
            names = {s["name"] for s in services["data"]}
            assert names - {"example-service"} == landed
        for node in (a, b):
            _, info = node.admin("GET", "/")
            conf = info["configuration"]
            assert (conf["database"], conf["pg_password"]) == ("postgres", "******")
        _no_password_anywhere(a, b)


def test_postgres_outage_during_steady_traffic(tmp_path: Path) -> None:
    log = tmp_path / "claude.json"
    with postgres_server() as pg, start_emulator() as emulator:
        url = pg.new_database()
        with _nodes(tmp_path, url) as (a, b):
            assert (
                a.apply(CONFIG.format(emulator=emulator, log=log), command="sync").returncode == 0
            )
            _until(lambda: _ask(b.proxy_url) == 200 and _ask(a.proxy_url) == 200, "both serve")
            before = len(_records(log))

            results: list[int] = []
            stop = threading.Event()

            def traffic(node: GatewayProcess, name: str) -> None:
                i = 0
                while not stop.is_set() and i < 5000:
                    results.append(_ask(node.proxy_url, tag=f"{name}-{i}"))
                    i += 1
                    time.sleep(0.02)

            threads = [
                threading.Thread(target=traffic, args=(n, k)) for n, k in ((a, "a"), (b, "b"))
            ]
            for t in threads:
                t.start()
            try:
                time.sleep(2)
                pg.stop()
                during = []
                outage_end = time.monotonic() + 10
                while time.monotonic() < outage_end:
                    for node in (a, b):
                        during.append(
                            node.admin(
                                "POST", "/services", {"name": f"s{len(during)}", "url": "http://h"}
                            )
                        )
                    time.sleep(1)
                pg.start()
                # The nodes reconnect by themselves: a write soon works again on each.
                for i, node in enumerate((a, b)):
                    _until(
                        lambda n=node, i=i: (
                            n.admin("POST", "/services", {"name": f"after{i}", "url": "http://h"})[
                                0
                            ]
                            == 201
                        ),
                        "a write after the outage",
                        timeout=30,
                    )
                time.sleep(2)
            finally:
                stop.set()
                for t in threads:
                    t.join()

            assert len(results) > 100
            assert [s for s in results if s != 200] == []  # no proxied request failed
            assert during and all(status == 503 for status, _ in during), during
            assert all("store unavailable" in body["message"] for _, body in during)
            assert all(PASSWORD not in body["message"] for _, body in during)
            # A change after the outage propagates again: b's new route is served by a.
            status, _ = b.admin(
                "POST", "/services/example-service/routes", {"name": "late", "paths": ["/late"]}
            )
            assert status == 201
            _until(lambda: _ask(a.proxy_url, "/late") == 200, "propagation after the outage")
            _until(lambda: len(_records(log)) >= before + len(results), "file-log records")
            tags = [r["request"]["headers"].get(TAG, "") for r in _records(log)[before:]]
            traffic_tags = [t for t in tags if t[:2] in ("a-", "b-")]
            assert len(traffic_tags) == len(set(traffic_tags)) == len(results)  # each logged once
            _no_password_anywhere(a, b)
            assert "serving configuration version" in a.error_log() + a.log_path.read_text()


def _worker_pids(gw: GatewayProcess) -> list[int]:
    out = subprocess.run(
        ["ps", "-ww", "--ppid", str(gw.proc.pid), "-o", "pid=,args="],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "spawn_main" in line]


def test_ready_waits_for_every_worker_to_hold_a_configuration(tmp_path: Path) -> None:
    with postgres_server() as pg:
        url = pg.new_database()
        with _nodes(tmp_path, url, count=1) as (node,):
            assert _ready(node) == (200, "ready")
            pids = _worker_pids(node)
            assert len(pids) == 2
            pg.stop()
            assert _ready(node) == (200, "ready")  # serving the last configuration is ready
            os.kill(pids[0], signal.SIGKILL)
            # Its replacement cannot load a configuration while the store is away.
            _until(lambda: _ready(node)[0] == 503, "not ready while a worker has no configuration")
            _, message = _ready(node)
            assert message == "1 of 2 proxy workers do not yet listen with a configuration"
            pg.start()
            _until(lambda: _ready(node) == (200, "ready"), "ready again", timeout=30)
            assert len(_worker_pids(node)) == 2
