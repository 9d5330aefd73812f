"""The foundation through the real gateway process: start, decK apply, proxy,
plugins, errors. Every test talks to `lockgate start` over real sockets."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.echo import echo_server
from tests.support.processes import GatewayProcess, run_lockgate, start_gateway

SERVICE = """
_format_version: "3.0"
services:
  - name: example-service
    url: {url}/anything
routes:
  - name: example-route
    paths:
    - "/anything"
    service:
      name: example-service
"""

PRE_FUNCTION = """
_format_version: "3.0"
plugins:
- name: pre-function
  config:
    access:
    - |
      local body = kong.request.get_body("application/json", nil, 10485760)
      if not body or body == "" then
        return
      end
      body.model = nil
      kong.service.request.set_body(body, "application/json")
"""

STREAM = """
_format_version: "3.0"
services:
  - name: stream-service
    url: {url}
    routes:
      - name: stream-route
        paths: ["~/s(tream)$"]
        strip_path: false
"""

FILE_LOG = """
_format_version: "3.0"
plugins:
- name: file-log
  config:
    path: "{path}"
"""


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    with echo_server() as url:
        yield url


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with start_gateway(tmp_path_factory.mktemp("gw"), workers=2) as gateway:
        yield gateway


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def apply_ok(
    gw: GatewayProcess, text: str, env: dict[str, str] | None = None, command: str = "apply"
) -> str:
    result = gw.apply(text, env, command)
    assert result.returncode == 0, result.stdout + result.stderr
    gw.wait_config()
    return result.stdout


def test_tutorial_common_part(gw: GatewayProcess, echo: str, tmp_path: Path) -> None:
    log_path = tmp_path / "claude.json"
    apply_ok(gw, SERVICE.format(url=echo))
    apply_ok(gw, FILE_LOG.format(path=log_path))
    apply_ok(gw, PRE_FUNCTION)
    body = {
        "model": "any-model-name",
        "messages": [{"role": "user", "content": "héllo"}],
        "max_tokens": 5,
    }
    status, headers, raw = request(
        gw.proxy_url + "/anything/v1/messages?beta=true",
        "POST",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "x-api-key": "secret-key"},
    )
    assert status == 200, raw
    echoed = json.loads(raw)
    assert echoed["path"] == "/anything/v1/messages"
    assert echoed["query"] == "beta=true"
    sent = json.loads(echoed["body"])
    assert "model" not in sent
    assert sent["messages"] == body["messages"] and sent["max_tokens"] == 5
    assert headers["via"].startswith("1.1 lockgate/")
    assert headers["x-kong-request-id"]
    assert "x-kong-upstream-latency" in headers and "x-kong-proxy-latency" in headers
    # Two more requests; the log gets exactly one well-formed line per request.
    for _ in range(2):
        assert request(gw.proxy_url + "/anything/get")[0] == 200
    deadline = time.monotonic() + 5
    lines: list[str] = []
    while time.monotonic() < deadline:
        # Complete lines only: a line being appended may be read half-written.
        lines = log_path.read_text().split("\n")[:-1] if log_path.exists() else []
        if len(lines) >= 3:
            break
        time.sleep(0.05)
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    first = records[0]
    assert first["request"]["method"] == "POST"
    assert first["request"]["headers"]["x-api-key"] == "REDACTED"
    assert "secret-key" not in lines[0]
    assert first["upstream_uri"] == "/anything/v1/messages?beta=true"
    assert first["response"]["status"] == 200
    assert (
        first["route"]["name"] == "example-route" and first["service"]["name"] == "example-service"
    )
    assert set(first["latencies"]) == {"kong", "proxy", "request", "receive"}


def test_no_route_is_404_and_head_answers(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    status, _, raw = request(gw.proxy_url + "/nothing-here")
    assert status == 404
    assert json.loads(raw) == {"message": "no Route matched with those values"}
    conn = http.client.HTTPConnection("127.0.0.1", gw.proxy_port, timeout=5)
    conn.request("HEAD", "/anything")
    resp = conn.getresponse()
    assert resp.status == 200
    conn.close()


def test_streamed_upstream_body_passes_through(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, STREAM.format(url=echo))
    status, _, raw = request(gw.proxy_url + "/stream?n=4")
    assert status == 200
    assert raw.decode().splitlines() == [f"chunk {i}" for i in range(4)]


def test_decK_errors_change_nothing(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    before = gw.admin("GET", "/services")[1]
    cases: dict[str, tuple[str, dict[str, str] | None, str]] = {
        "malformed yaml": (
            '_format_version: "3.0"\nservices:\n  - name: [unclosed\n',
            None,
            "invalid YAML",
        ),
        "unknown field": (
            '_format_version: "3.0"\nservices:\n  - name: s1\n    url: http://x\n    colour: red\n',
            None,
            "services[0].colour: unknown field",
        ),
        "unknown plugin": (
            '_format_version: "3.0"\nplugins:\n  - name: no-such-plugin\n',
            None,
            "no-such-plugin",
        ),
        "unset variable": (
            '_format_version: "3.0"\nplugins:\n  - name: file-log\n    config:\n      path: ${{ env "DECK_NOT_SET" }}\n',
            None,
            "DECK_NOT_SET",
        ),
        "unprefixed variable": (
            '_format_version: "3.0"\nplugins:\n  - name: file-log\n    config:\n      path: ${{ env "HOME" }}\n',
            {"HOME": "/tmp"},
            "DECK_",
        ),
        "invalid regex": (
            '_format_version: "3.0"\nroutes:\n  - name: bad\n    paths: ["~/a[("]\n',
            None,
            "invalid regex",
        ),
        "duplicate names": (
            '_format_version: "3.0"\nservices:\n  - name: twin\n    url: http://a\n  - name: twin\n    url: http://b\n',
            None,
            "twin",
        ),
        "lua syntax": (
            '_format_version: "3.0"\nplugins:\n  - name: pre-function\n    config:\n      access:\n      - "if then end"\n',
            None,
            "config.access",
        ),
    }
    for name, (text, env, expected) in cases.items():
        result = gw.apply(text, env)
        assert result.returncode != 0, name
        assert expected in (result.stderr + result.stdout), (name, result.stderr)
    assert gw.admin("GET", "/services")[1] == before


def test_failed_sync_keeps_old_configuration(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    bad = (
        SERVICE.format(url=echo)
        + "plugins:\n  - name: file-log\n    config: {path: 42, colour: 1}\n"
    )
    result = gw.apply(bad, command="sync")
    assert result.returncode != 0
    assert "plugins[0].config" in result.stderr
    assert request(gw.proxy_url + "/anything/ok")[0] == 200


def test_sync_deletes_and_apply_does_not(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    extra = f'_format_version: "3.0"\nservices:\n  - name: extra\n    url: {echo}\n    routes:\n      - name: extra-route\n        paths: ["/extra"]\n'
    apply_ok(gw, extra)
    assert request(gw.proxy_url + "/extra")[0] == 200
    assert request(gw.proxy_url + "/anything/x")[0] == 200
    apply_ok(gw, extra, command="sync")
    assert request(gw.proxy_url + "/anything/x")[0] == 404
    assert request(gw.proxy_url + "/extra")[0] == 200


def test_oversized_body_is_413(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    apply_ok(gw, PRE_FUNCTION)  # makes the gateway buffer the body
    status, _, raw = request(
        gw.proxy_url + "/anything/big",
        "POST",
        b"x" * (65 * 1024 * 1024),
        {"Content-Type": "application/json"},
    )
    assert status == 413
    assert "size" in json.loads(raw)["message"].lower()
    assert request(gw.proxy_url + "/anything/after")[0] == 200


def test_lua_runtime_error_is_500_with_traceback(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    broken = '_format_version: "3.0"\nplugins:\n  - name: pre-function\n    config:\n      access:\n      - |\n        local t = nil\n        return t.field\n'
    apply_ok(gw, broken)
    status, _, raw = request(gw.proxy_url + "/anything/lua")
    assert status == 500
    assert json.loads(raw) == {"message": "An unexpected error occurred"}
    time.sleep(0.3)
    out = gw.log_path.read_text()
    assert "pre-function" in out and "traceback" in out.lower()
    apply_ok(gw, PRE_FUNCTION)
    assert request(gw.proxy_url + "/anything/fine")[0] == 200


def test_upstream_down_is_502_and_slow_is_504(gw: GatewayProcess, echo: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    down = f'_format_version: "3.0"\nservices:\n  - name: down\n    url: http://127.0.0.1:{dead_port}\n    retries: 1\n    routes:\n      - name: down-route\n        paths: ["/down"]\n'
    slow = f'_format_version: "3.0"\nservices:\n  - name: slow\n    url: {echo}/slow\n    read_timeout: 300\n    routes:\n      - name: slow-route\n        paths: ["/slow"]\n'
    apply_ok(gw, down)
    apply_ok(gw, slow)
    status, _, raw = request(gw.proxy_url + "/down")
    assert status == 502 and "message" in json.loads(raw)
    status, _, raw = request(gw.proxy_url + "/slow?secs=2")
    assert status == 504 and "timing out" in json.loads(raw)["message"]


def test_client_disconnect_leaves_gateway_serving(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    apply_ok(gw, STREAM.format(url=echo))
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", gw.proxy_port))
        s.sendall(b"POST /anything/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial")
        s.close()
        s = socket.create_connection(("127.0.0.1", gw.proxy_port))
        s.sendall(b"GET /stream?n=50&gap=0.05 HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(10)
        s.close()
    assert request(gw.proxy_url + "/anything/alive")[0] == 200


def test_key_auth(gw: GatewayProcess, echo: str) -> None:
    config = f"""
_format_version: "3.0"
services:
  - name: secured
    url: {echo}
    routes:
      - name: secured-route
        paths: ["/secured"]
        plugins:
          - name: key-auth
            config:
              key_names: ["apikey"]
              hide_credentials: true
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
"""
    apply_ok(gw, config)
    status, _, raw = request(gw.proxy_url + "/secured/x")
    assert status == 401 and json.loads(raw) == {"message": "No API key found in request"}
    assert request(gw.proxy_url + "/secured/x", headers={"apikey": "wrong"})[0] == 401
    status, _, raw = request(gw.proxy_url + "/secured/x", headers={"apikey": "alice-key"})
    assert status == 200
    echoed = json.loads(raw)
    assert "apikey" not in echoed["headers"]
    assert echoed["headers"]["x-consumer-username"] == "alice"
    assert echoed["headers"]["x-consumer-id"]


def test_change_reaches_every_worker_within_a_second(gw: GatewayProcess, echo: str) -> None:
    apply_ok(gw, SERVICE.format(url=echo))
    marker = f'_format_version: "3.0"\nservices:\n  - name: fresh\n    url: {echo}\n    routes:\n      - name: fresh-route\n        paths: ["/fresh-{int(time.time() * 1000)}"]\n'
    path = marker.split('paths: ["')[1].split('"')[0]
    assert gw.apply(marker).returncode == 0
    time.sleep(1.0)
    # Many fresh connections land on both workers (SO_REUSEPORT hashes them).
    statuses = {request(gw.proxy_url + path)[0] for _ in range(30)}
    assert statuses == {200}


def test_status_and_stop(tmp_path: Path) -> None:
    with start_gateway(tmp_path) as gateway:
        prefix = str(gateway.prefix)
        result = run_lockgate(["status", "--prefix", prefix, "--admin-url", gateway.admin_url])
        assert result.returncode == 0 and "running" in result.stdout
        result = run_lockgate(["stop", "--prefix", prefix])
        assert result.returncode == 0
        assert gateway.proc.wait(timeout=40) == 0
    result = run_lockgate(["status", "--prefix", prefix])
    assert result.returncode != 0


def test_configuration_survives_restart(tmp_path: Path, echo: str) -> None:
    with start_gateway(tmp_path) as gateway:
        apply_ok(gateway, SERVICE.format(url=echo))
    with start_gateway(tmp_path) as gateway:
        assert request(gateway.proxy_url + "/anything/again")[0] == 200


def test_log_lines_from_several_workers_never_tear(
    gw: GatewayProcess, echo: str, tmp_path: Path
) -> None:
    import concurrent.futures

    log_path = tmp_path / "many.json"
    apply_ok(gw, SERVICE.format(url=echo))
    apply_ok(gw, FILE_LOG.format(path=log_path))
    padding = "p" * 3000  # records of several KB: larger than one pipe buffer's atomic size

    def one(i: int) -> int:
        # A fresh connection each time, so SO_REUSEPORT spreads them over both workers.
        return request(
            gw.proxy_url + f"/anything/n{i}", headers={"X-Padding": padding, "Connection": "close"}
        )[0]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(300)))
    assert statuses == [200] * 300
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = log_path.read_text().splitlines()
        if len(lines) >= 300:
            break
        time.sleep(0.1)
    uris = sorted(json.loads(line)["request"]["uri"] for line in lines)
    assert uris == sorted(f"/anything/n{i}" for i in range(300))


def test_in_flight_request_survives_a_configuration_change(gw: GatewayProcess, echo: str) -> None:
    import concurrent.futures

    slow = f'_format_version: "3.0"\nservices:\n  - name: slow2\n    url: {echo}/slow\n    routes:\n      - name: slow2-route\n        paths: ["/slow2"]\n'
    apply_ok(gw, slow)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request, gw.proxy_url + "/slow2?secs=2")
        time.sleep(0.3)
        # A new version replaces every compiled plugin and route while the request waits upstream.
        apply_ok(
            gw,
            f'_format_version: "3.0"\nservices:\n  - name: other\n    url: {echo}\n    routes:\n      - name: other-route\n        paths: ["/other"]\n',
        )
        status, _, raw = pending.result(timeout=30)
    assert status == 200 and json.loads(raw)["path"] == "/slow"


def test_daemon_mode(tmp_path: Path) -> None:
    from tests.support.processes import free_port

    proxy, admin = free_port(), free_port()
    prefix = tmp_path / "daemon"
    result = run_lockgate(
        [
            "start",
            "--daemon",
            "--workers",
            "2",
            "--prefix",
            str(prefix),
            "--proxy-listen",
            f"127.0.0.1:{proxy}",
            "--admin-listen",
            f"127.0.0.1:{admin}",
        ]
    )
    assert result.returncode == 0, result.stderr
    try:
        # No waiting: `start --daemon` returns once the gateway serves.
        assert "started" in result.stdout
        assert request(f"http://127.0.0.1:{proxy}/nothing")[0] == 404
        # ... on every worker: the node is ready for a load balancer at once.
        assert request(f"http://127.0.0.1:{admin}/status/ready")[0] == 200
        status = run_lockgate(
            ["status", "--prefix", str(prefix), "--admin-url", f"http://127.0.0.1:{admin}"]
        )
        assert status.returncode == 0 and "running" in status.stdout
    finally:
        stopped = run_lockgate(["stop", "--prefix", str(prefix)])
    assert stopped.returncode == 0, stopped.stderr
    assert "ready" in (prefix / "logs" / "error.log").read_text()
