"""Start lockgate (and the emulators) as real processes on free ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "GatewayProcess",
    "free_port",
    "lockgate_cmd",
    "run_lockgate",
    "start_emulator",
    "start_gateway",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lockgate_cmd() -> list[str]:
    return [sys.executable, "-m", "lockgate"]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DECK_", "LOCKGATE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_lockgate(
    args: list[str],
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*lockgate_cmd(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(env),
        timeout=timeout,
        check=False,
    )


def wait_http(url: str, timeout: float = 30, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class GatewayProcess:
    proc: subprocess.Popen[bytes]
    prefix: Path
    proxy_port: int
    admin_port: int
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def apply(
        self, text: str, env: dict[str, str] | None = None, command: str = "apply"
    ) -> subprocess.CompletedProcess[str]:
        return run_lockgate(
            ["gateway", command, "-", "--admin-url", self.admin_url], stdin=text, env=env
        )

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.admin_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def wait_config(self, settle: float = 1.2) -> None:
        """Changes reach every worker within a second (workers poll the store)."""
        time.sleep(settle)

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


@contextmanager
def start_gateway(
    tmp: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> Iterator[GatewayProcess]:
    """``lockgate start`` with its prefix in ``tmp``; ``args`` are added (e.g. ``--store``)."""
    proxy_port, admin_port = free_port(), free_port()
    prefix = tmp / "prefix"
    log_path = tmp / "gateway.out"
    out = open(log_path, "wb")
    proc = subprocess.Popen(
        [
            *lockgate_cmd(),
            "start",
            "--proxy-listen",
            f"127.0.0.1:{proxy_port}",
            "--admin-listen",
            f"127.0.0.1:{admin_port}",
            "--workers",
            str(workers),
            "--prefix",
            str(prefix),
            *(args or []),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=_env(env),
    )
    gw = GatewayProcess(proc, prefix, proxy_port, admin_port, log_path, env or {})
    try:
        wait_http(gw.admin_url + "/status", proc=proc)
        wait_http(gw.proxy_url + "/", proc=proc)
        yield gw
    finally:
        gw.stop()
        out.close()


@contextmanager
def start_emulator(env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [*lockgate_cmd(), "emulate", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(env),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/_emulator/requests", proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
