"""Where a user looks: the workers' messages reach ``<prefix>/logs/error.log``
whether the gateway runs in the foreground (``make run``) or as a daemon,
one line per failure with the request id, in words that fit the URL."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.processes import GatewayProcess, free_port, run_lockgate, start_gateway


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _down_service(port: int) -> str:
    return (
        '_format_version: "3.0"\nservices:\n  - name: down\n'
        f"    url: http://127.0.0.1:{port}\n    retries: 1\n"
        '    routes:\n      - name: down-route\n        paths: ["/down"]\n'
    )


def _get(url: str) -> tuple[int, str]:
    """(status, X-Kong-Request-Id) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.headers["X-Kong-Request-Id"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["X-Kong-Request-Id"]


def _lines_with(path: Path, needle: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        found = [line for line in text.splitlines() if needle in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_foreground_worker_failure_reaches_error_log_and_terminal(tmp_path: Path) -> None:
    port = _dead_port()
    with start_gateway(tmp_path, workers=1) as gw:
        result = gw.apply(_down_service(port))
        assert result.returncode == 0, result.stderr
        gw.wait_config()
        status, request_id = _get(gw.proxy_url + "/down")
        assert status == 502
        error_log = gw.prefix / "logs" / "error.log"
        lines = _lines_with(error_log, request_id)
        assert len(lines) == 1, error_log.read_text()
        line = lines[0]
        assert f"cannot connect to 127.0.0.1:{port} (http): Connection refused" in line
        # aiohttp's own wording names an SSL setting for this plain-HTTP URL.
        assert "ssl" not in line.lower() and "tls" not in line.lower()
        # The terminal keeps the worker's messages too.
        assert _lines_with(gw.log_path, request_id) == [line]


def test_daemon_writes_each_worker_line_once(tmp_path: Path) -> None:
    proxy, admin = free_port(), free_port()
    prefix = tmp_path / "daemon"
    port = _dead_port()
    started = run_lockgate(
        [
            "start",
            "--daemon",
            "--workers",
            "1",
            "--prefix",
            str(prefix),
            "--proxy-listen",
            f"127.0.0.1:{proxy}",
            "--admin-listen",
            f"127.0.0.1:{admin}",
        ]
    )
    assert started.returncode == 0, started.stderr
    try:
        gw = GatewayProcess(None, prefix, proxy, admin, tmp_path / "unused")  # type: ignore[arg-type]
        assert gw.apply(_down_service(port)).returncode == 0
        gw.wait_config()
        status, request_id = _get(gw.proxy_url + "/down")
        assert status == 502
        lines = _lines_with(prefix / "logs" / "error.log", request_id)
    finally:
        stopped = run_lockgate(["stop", "--prefix", str(prefix)])
    assert stopped.returncode == 0, stopped.stderr
    assert len(lines) == 1 and "Connection refused" in lines[0]
