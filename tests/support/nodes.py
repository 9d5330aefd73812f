"""Several lockgate nodes as real processes: traditional nodes on one store,
control and data planes (hybrid mode), and the OpenAI tutorial's AI route
(Claude Code's Anthropic format to the OpenAI emulator) with file-log."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.support.processes import (
    GatewayProcess,
    _env,
    free_port,
    lockgate_cmd,
    start_gateway,
    wait_http,
)

__all__ = [
    "CONFIG",
    "TAG",
    "ask",
    "cluster_args",
    "ready",
    "records",
    "start_nodes",
    "start_role",
    "until",
]

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


def ask(proxy_url: str, path: str = "/anything", tag: str = "") -> int:
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


def until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def ready(gw: GatewayProcess) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(gw.admin_url + "/status/ready", timeout=10) as resp:
            return int(resp.status), json.loads(resp.read())["message"]
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())["message"]


@contextmanager
def start_nodes(
    tmp: Path, url: str, count: int = 2, workers: int = 2
) -> Iterator[list[GatewayProcess]]:
    """``count`` traditional nodes on the store at ``url``, each ready."""
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
            until(lambda n=node: ready(n)[0] == 200, "node ready")
        yield nodes


@contextmanager
def start_role(
    tmp: Path,
    role: str,
    args: list[str],
    env: dict[str, str] | None = None,
) -> Iterator[GatewayProcess]:
    """A hybrid-mode node (``role`` control_plane or data_plane) with its prefix
    in ``tmp``. ``admin_url`` is a control plane's Admin API, or a data
    plane's status listener; ready once it answers ``/status/ready``."""
    tmp.mkdir(parents=True, exist_ok=True)
    proxy_port, admin_port = free_port(), free_port()
    listen = ["--admin-listen"] if role == "control_plane" else ["--status-listen"]
    cmd = [
        *lockgate_cmd(),
        "start",
        "--role",
        role,
        "--prefix",
        str(tmp / "prefix"),
        "--proxy-listen",
        f"127.0.0.1:{proxy_port}",
        *listen,
        f"127.0.0.1:{admin_port}",
        "--workers",
        "2" if role == "data_plane" else "1",
        *args,
    ]
    out = open(tmp / "gateway.out", "ab")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(env))
    gw = GatewayProcess(proc, tmp / "prefix", proxy_port, admin_port, tmp / "gateway.out")
    try:
        wait_http(gw.admin_url + "/status/ready", proc=proc)
        yield gw
    finally:
        gw.stop()
        out.close()


def cluster_args(certs: dict[str, Path], name: str = "good") -> list[str]:
    """``--cluster-cert`` and ``--cluster-cert-key`` for ``certs[name]`` and ``certs[name + "_key"]``."""
    return ["--cluster-cert", str(certs[name]), "--cluster-cert-key", str(certs[name + "_key"])]
