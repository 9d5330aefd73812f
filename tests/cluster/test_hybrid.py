"""Hybrid mode through real processes: a control plane on a real PostgreSQL,
data planes that get their configuration pushed over mutual TLS."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.echo import echo_server
from tests.support.nodes import cluster_args, start_role, until
from tests.support.postgres import PASSWORD, PostgresServer, postgres_server
from tests.support.processes import GatewayProcess, free_port, run_lockgate

CONFIG = """
_format_version: "3.0"
services:
  - name: s
    url: {upstream}
    routes:
      - name: {route}
        paths: ["/{route}"]
"""


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for name in ("good", "other"):
        cert, key = d / f"{name}.crt", d / f"{name}.key"
        result = run_lockgate(["cluster", "gen-cert", "--cert", str(cert), "--key", str(key)])
        assert result.returncode == 0, result.stderr
        out[name], out[name + "_key"] = cert, key
    assert oct(os.stat(out["good_key"]).st_mode & 0o777) == "0o600"
    return out


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            raw = resp.read()
            return int(resp.status), raw
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except OSError:
        return 0, b""


def _serves(dp: GatewayProcess, route: str) -> bool:
    # Several connections: both workers must serve the route.
    return all(_get(f"{dp.proxy_url}/{route}")[0] == 200 for _ in range(6))


def test_control_plane_pushes_to_data_planes_that_survive_its_loss(
    tmp_path: Path, pg: PostgresServer, certs: dict[str, Path]
) -> None:
    url = pg.new_database()
    cluster_port = free_port()
    cp_args = [
        "--store",
        url,
        "--cluster-listen",
        f"127.0.0.1:{cluster_port}",
        *cluster_args(certs),
    ]
    dp_args = ["--cluster-control-plane", f"127.0.0.1:{cluster_port}", *cluster_args(certs)]
    echo = echo_server()
    upstream = echo.__enter__() + "/anything"
    cp = start_role(tmp_path / "cp", "control_plane", cp_args)
    control = cp.__enter__()
    try:
        with (
            start_role(tmp_path / "dp1", "data_plane", dp_args) as dp1,
            start_role(tmp_path / "dp2", "data_plane", dp_args) as dp2,
        ):
            applied = control.apply(CONFIG.format(upstream=upstream, route="one"), command="sync")
            assert applied.returncode == 0, applied.stderr
            for dp in (dp1, dp2):
                until(lambda dp=dp: _serves(dp, "one"), "a data plane serves the sync")
                assert _get(dp.admin_url + "/status/ready") == (200, b'{"message":"ready"}')
            _, listing = control.admin("GET", "/clustering/data-planes")
            assert len(listing["data"]) == 2 and listing["next"] is None
            for entry in listing["data"]:
                assert set(entry) >= {"id", "hostname", "ip", "last_seen", "config_hash", "version"}
                assert entry["ip"] == "127.0.0.1"
            # The control plane dies; the data planes keep serving.
            control.proc.send_signal(signal.SIGKILL)
            control.proc.wait()
            for dp in (dp1, dp2):
                assert _serves(dp, "one")
            # dp2 restarts while the control plane is away: it serves its cached configuration.
            dp2.stop()
        with (
            start_role(tmp_path / "dp2", "data_plane", dp_args) as dp2,
            start_role(tmp_path / "dp1", "data_plane", dp_args) as dp1_again,
        ):
            assert _serves(dp2, "one")
            assert _get(dp2.admin_url + "/status/ready")[0] == 200
            # The control plane comes back on the same address; a new change reaches both.
            cp.__exit__(None, None, None)
            cp = start_role(tmp_path / "cp", "control_plane", cp_args)
            control = cp.__enter__()
            applied = control.apply(CONFIG.format(upstream=upstream, route="two"), command="sync")
            assert applied.returncode == 0, applied.stderr
            for dp in (dp2, dp1_again):
                until(lambda dp=dp: _serves(dp, "two"), "reconnected data planes take a change")
                assert _get(f"{dp.proxy_url}/one")[0] == 404
        for log in (tmp_path / "cp" / "gateway.out", tmp_path / "dp1" / "gateway.out"):
            assert PASSWORD not in log.read_text()
    finally:
        cp.__exit__(None, None, None)
        echo.__exit__(None, None, None)


def test_a_data_plane_with_another_certificate_is_refused(
    tmp_path: Path, pg: PostgresServer, certs: dict[str, Path]
) -> None:
    cluster_port = free_port()
    cp_args = [
        "--store",
        pg.new_database(),
        "--cluster-listen",
        f"127.0.0.1:{cluster_port}",
        *cluster_args(certs),
    ]
    dp_args = [
        "--cluster-control-plane",
        f"127.0.0.1:{cluster_port}",
        *cluster_args(certs, "other"),
    ]
    with (
        start_role(tmp_path / "cp", "control_plane", cp_args) as cp,
        start_role(tmp_path / "dp", "data_plane", dp_args) as dp,
    ):
        assert (
            cp.apply(
                CONFIG.format(upstream="http://127.0.0.1:9", route="one"), command="sync"
            ).returncode
            == 0
        )
        until(
            lambda: "refused a data plane" in cp.log_path.read_text(), "the control plane logs why"
        )
        until(lambda: "certificate" in dp.log_path.read_text(), "the data plane logs why")
        status, body = _get(dp.admin_url + "/status/ready")
        assert status == 503
        assert json.loads(body)["message"] == "no configuration received from the control plane yet"
        assert _get(f"{dp.proxy_url}/one")[0] == 404
        _, listing = cp.admin("GET", "/clustering/data-planes")
        assert listing["data"] == []
        cp_log, dp_log = cp.log_path.read_text(), dp.log_path.read_text()
        assert "TLS handshake failed" in cp_log
        assert "another certificate" in dp_log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "data_plane"], "a data plane needs --cluster-control-plane HOST:PORT"),
        (
            [
                "--role",
                "data_plane",
                "--cluster-control-plane",
                "127.0.0.1:1",
                "--store",
                "sqlite:///x.db",
            ],
            "a data plane has no store",
        ),
        (["--role", "control_plane"], "needs --cluster-cert and --cluster-cert-key"),
        (
            [
                "--role",
                "control_plane",
                "--cluster-cert",
                "/nonexistent.crt",
                "--cluster-cert-key",
                "/nonexistent.key",
            ],
            "cannot use the cluster certificate /nonexistent.crt",
        ),
    ],
)
def test_a_hybrid_node_without_what_it_needs_says_so(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_lockgate(["start", "--prefix", str(tmp_path / "prefix"), *args])
    assert result.returncode == 1
    assert message in result.stderr
