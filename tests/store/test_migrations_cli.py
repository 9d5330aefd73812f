"""``lockgate migrations up|status`` and ``start --store`` against a real
PostgreSQL, through the command line."""

from __future__ import annotations

import pathlib

from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.processes import free_port, run_lockgate


def test_status_up_status(pg_url: str) -> None:
    pending = run_lockgate(["migrations", "status", "--store", pg_url])
    assert pending.returncode == 1
    assert "1 migration(s) pending: 001_config_versions" in pending.stderr
    assert "lockgate migrations up" in pending.stderr
    up = run_lockgate(["migrations", "up"], env={"LOCKGATE_STORE": pg_url})
    assert up.returncode == 0, up.stderr
    assert "applied 001_config_versions" in up.stdout
    current = run_lockgate(["migrations", "status", "--store", pg_url])
    assert current.returncode == 0
    assert "schema current" in current.stdout
    for result in (pending, up, current):
        assert PASSWORD not in result.stdout + result.stderr
        assert "lockgate:***@127.0.0.1" in result.stdout + result.stderr


def test_unreachable_store_is_a_clear_error_without_password(pg: PostgresServer) -> None:
    url = f"postgresql://lockgate:{PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    result = run_lockgate(["migrations", "status", "--store", url])
    assert result.returncode == 2
    assert "cannot be reached" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_start_refuses_an_unreachable_store(tmp_path: pathlib.Path) -> None:
    url = f"postgresql://lockgate:{PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    result = run_lockgate(
        [
            "start",
            "--prefix",
            str(tmp_path / "prefix"),
            "--proxy-listen",
            f"127.0.0.1:{free_port()}",
            "--admin-listen",
            f"127.0.0.1:{free_port()}",
            "--store",
            url,
        ]
    )
    assert result.returncode == 1
    assert "Error: cannot use the store postgresql://lockgate:***@127.0.0.1" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_sqlite_store_has_nothing_pending(tmp_path: pathlib.Path) -> None:
    url = f"sqlite://{tmp_path}/lockgate.db"
    assert run_lockgate(["migrations", "status", "--store", url]).returncode == 0
    up = run_lockgate(["migrations", "up", "--store", url])
    assert up.returncode == 0 and "schema current" in up.stdout
    assert (tmp_path / "lockgate.db").exists()
