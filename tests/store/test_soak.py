"""Soak: steady load on two nodes while a decK ``sync`` (``POST /config``,
what ``lockgate gateway sync`` sends) lands every second.
Zero failed requests, and every request is in file-log exactly once.

Traditional mode (two nodes on one PostgreSQL, syncs through node a) and
hybrid mode (a control plane and two data planes, syncs through the control
plane). The suite runs it for ``LOCKGATE_SOAK_SECONDS`` (default 15);
``LOCKGATE_SOAK_SECONDS=120`` is the two-minute soak.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.nodes import (
    CONFIG,
    TAG,
    ask,
    cluster_args,
    records,
    start_nodes,
    start_role,
    until,
)
from tests.support.postgres import PostgresServer
from tests.support.processes import GatewayProcess, free_port, run_lockgate, start_emulator

SECONDS = float(os.environ.get("LOCKGATE_SOAK_SECONDS", "15"))
#: The synced file alternates between two shapes: with and without this spare route.
SPARE = """
  - name: spare
    url: http://127.0.0.1:9
    routes:
      - name: spare-{n}
        paths: ["/spare-{n}"]
"""


def _with_spare(text: str, n: int) -> str:
    head, sep, tail = text.partition("plugins:")
    return head + (SPARE.format(n=n) if n % 2 else "") + sep + tail


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    cert, key = tmp_path / "cluster.crt", tmp_path / "cluster.key"
    assert (
        run_lockgate(["cluster", "gen-cert", "--cert", str(cert), "--key", str(key)]).returncode
        == 0
    )
    return {"good": cert, "good_key": key}


def _soak(admin: GatewayProcess, proxies: list[GatewayProcess], emulator: str, log: Path) -> None:
    config = CONFIG.format(emulator=emulator, log=log)
    applied = admin.apply(config, command="sync")
    assert applied.returncode == 0, applied.stderr
    for node in proxies:
        # Every worker of a node follows the configuration on its own: one 200
        # may come from a worker that has it while another is a moment behind
        # (a 404 then, before the soak proper). Ten in a row reach them all.
        until(
            lambda n=node: all(ask(n.proxy_url) == 200 for _ in range(10)),
            "serving on every worker",
        )
    before = len(records(log))
    _, first = admin.admin("GET", "/config")
    results: list[tuple[str, int]] = []
    stop = threading.Event()

    def traffic(node: GatewayProcess, name: str) -> None:
        i = 0
        while not stop.is_set() and i < 100_000:
            tag = f"{name}-{i}"
            results.append((tag, ask(node.proxy_url, tag=tag)))
            i += 1

    threads = [threading.Thread(target=traffic, args=(n, f"n{k}")) for k, n in enumerate(proxies)]
    for t in threads:
        t.start()
    syncs = []
    try:
        end = time.monotonic() + SECONDS
        n = 1  # the first sync adds the spare route: every sync changes something
        while time.monotonic() < end:
            started = time.monotonic()
            # What `lockgate gateway sync` sends, without a CLI start-up per second.
            status, _ = admin.admin("POST", "/config", {"config": _with_spare(config, n)})
            syncs.append(status)
            n += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert syncs and set(syncs) == {201}
    _, after = admin.admin("GET", "/config")
    assert after["version"] - first["version"] == len(syncs)  # each sync saved a new version
    assert len(results) > 10 * len(proxies)
    assert [r for r in results if r[1] != 200] == []

    def logged() -> list[str]:
        tags = [r["request"]["headers"].get(TAG, "") for r in records(log)[before:]]
        return [t for t in tags if t[:1] == "n"]

    until(lambda: len(logged()) >= len(results), "every request logged")
    time.sleep(0.5)
    assert sorted(logged()) == sorted(tag for tag, _ in results)  # each exactly once


def test_soak_traditional(tmp_path: Path, pg_url: str) -> None:
    log = tmp_path / "claude.json"
    with start_emulator() as emulator, start_nodes(tmp_path, pg_url) as (a, b):
        _soak(a, [a, b], emulator, log)


def test_soak_hybrid(tmp_path: Path, pg: PostgresServer, certs: dict[str, Path]) -> None:
    log = tmp_path / "claude.json"
    port = free_port()
    cp_args = [
        "--store",
        pg.new_database(),
        "--cluster-listen",
        f"127.0.0.1:{port}",
        *cluster_args(certs),
    ]
    dp_args = ["--cluster-control-plane", f"127.0.0.1:{port}", *cluster_args(certs)]
    with start_emulator() as emulator, ExitStack() as stack:
        cp = stack.enter_context(start_role(tmp_path / "cp", "control_plane", cp_args))
        dps = [
            stack.enter_context(start_role(tmp_path / f"dp{i}", "data_plane", dp_args))
            for i in (1, 2)
        ]
        _soak(cp, dps, emulator, log)
