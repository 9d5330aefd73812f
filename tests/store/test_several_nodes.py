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

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.support.nodes import CONFIG, TAG, ask, ready, records, start_nodes, until
from tests.support.postgres import PASSWORD, postgres_server
from tests.support.processes import GatewayProcess, start_emulator


def _no_password_anywhere(*nodes: GatewayProcess) -> None:
    for node in nodes:
        assert PASSWORD not in node.log_path.read_text() + node.error_log()


def test_a_change_on_one_node_is_served_by_the_other(tmp_path: Path, pg_url: str) -> None:
    log = tmp_path / "claude.json"
    with start_emulator() as emulator, start_nodes(tmp_path, pg_url) as (a, b):
        applied = a.apply(CONFIG.format(emulator=emulator, log=log), command="sync")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        # Each request opens its own connection, so both workers of b take some.
        until(lambda: ask(b.proxy_url) == 200, "node b serves node a's configuration")
        before = len(records(log))
        statuses = [
            ask(node.proxy_url, tag=f"{name}-{i}")
            for i in range(10)
            for name, node in (("a", a), ("b", b))
        ]
        assert statuses == [200] * 20

        # The other way: a route added through b's Admin API reaches a.
        status, _ = b.admin(
            "POST", "/services/example-service/routes", {"name": "second", "paths": ["/second"]}
        )
        assert status == 201
        until(lambda: ask(a.proxy_url, "/second") == 200, "node a serves node b's new route")
        assert [ask(a.proxy_url, "/second", tag=f"second-{i}") for i in range(10)] == [200] * 10

        until(lambda: len(records(log)) >= before + 30, "file-log records")
        tagged = {
            r["request"]["headers"].get(TAG): r
            for r in records(log)
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
        with start_nodes(tmp_path, url) as (a, b):
            assert (
                a.apply(CONFIG.format(emulator=emulator, log=log), command="sync").returncode == 0
            )
            until(lambda: ask(b.proxy_url) == 200 and ask(a.proxy_url) == 200, "both serve")
            before = len(records(log))

            results: list[int] = []
            stop = threading.Event()

            def traffic(node: GatewayProcess, name: str) -> None:
                i = 0
                while not stop.is_set() and i < 5000:
                    results.append(ask(node.proxy_url, tag=f"{name}-{i}"))
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
                    until(
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
            until(lambda: ask(a.proxy_url, "/late") == 200, "propagation after the outage")
            until(lambda: len(records(log)) >= before + len(results), "file-log records")
            tags = [r["request"]["headers"].get(TAG, "") for r in records(log)[before:]]
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
        with start_nodes(tmp_path, url, count=1) as (node,):
            assert ready(node) == (200, "ready")
            pids = _worker_pids(node)
            assert len(pids) == 2
            pg.stop()
            assert ready(node) == (200, "ready")  # serving the last configuration is ready
            os.kill(pids[0], signal.SIGKILL)
            # Its replacement cannot load a configuration while the store is away.
            until(lambda: ready(node)[0] == 503, "not ready while a worker has no configuration")
            _, message = ready(node)
            assert message == "1 of 2 proxy workers do not yet listen with a configuration"
            pg.start()
            until(lambda: ready(node) == (200, "ready"), "ready again", timeout=30)
            assert len(_worker_pids(node)) == 2
