"""rate-limiting through the real gateway: Kong's headers and 429, one count
for all of a node's workers, one count for two nodes through a real Redis,
and Redis going away (fault_tolerant)."""

from __future__ import annotations

import concurrent.futures
import http.client
import time
from pathlib import Path

from tests.support.echo import echo_server
from tests.support.processes import GatewayProcess, start_gateway
from tests.support.redis_server import redis_server

SERVICE = """
_format_version: "3.0"
services:
  - name: svc
    url: {url}/anything
    routes:
      - name: r
        paths: ["/limited"]
        plugins:
          - name: rate-limiting
            id: 5d7bbf32-6c1e-4b7e-9b0e-7f4c2a1d9e01
            config:
{config}
"""


def _apply(gw: GatewayProcess, url: str, config: str) -> None:
    indented = "\n".join(" " * 14 + line for line in config.strip().splitlines())
    done = gw.apply(SERVICE.format(url=url, config=indented))
    assert done.returncode == 0, done.stderr
    gw.wait_config()


def _get(gw: GatewayProcess, path: str = "/limited") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.proxy_port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_headers_and_refusal(tmp_path: Path) -> None:
    with echo_server() as url, start_gateway(tmp_path) as gw:
        _apply(gw, url, "minute: 3\nhour: 10")
        seen = [_get(gw) for _ in range(4)]
        assert [s for s, _, _ in seen] == [200, 200, 200, 429]
        first = seen[0][1]
        assert first["x-ratelimit-limit-minute"] == "3"
        assert first["x-ratelimit-remaining-minute"] == "2"
        assert first["x-ratelimit-limit-hour"] == "10"
        assert first["x-ratelimit-remaining-hour"] == "9"
        assert first["ratelimit-limit"] == "3" and first["ratelimit-remaining"] == "2"
        assert 1 <= int(first["ratelimit-reset"]) <= 60
        _, headers, body = seen[3]
        assert body == b'{"message":"API rate limit exceeded"}'
        assert headers["x-ratelimit-remaining-minute"] == "0"
        assert 1 <= int(headers["retry-after"]) <= 60
        # A refused request does not use up the hour.
        assert headers["x-ratelimit-remaining-hour"] == "7"


def test_hidden_headers_custom_error(tmp_path: Path) -> None:
    with echo_server() as url, start_gateway(tmp_path) as gw:
        _apply(
            gw,
            url,
            'second: 1\nhide_client_headers: true\nerror_code: 503\nerror_message: "slow down"',
        )
        statuses = []
        for _ in range(3):
            status, headers, _ = _get(gw)
            statuses.append(status)
            assert not any(k.startswith(("x-ratelimit", "ratelimit")) for k in headers)
        assert 503 in statuses and 200 in statuses
        assert b"slow down" in _last_refusal(gw)


def _last_refusal(gw: GatewayProcess) -> bytes:
    for _ in range(5):
        status, _, body = _get(gw)
        if status != 200:
            return body
    raise AssertionError("never refused")


def test_one_count_for_all_workers(tmp_path: Path) -> None:
    with echo_server() as url, start_gateway(tmp_path, workers=2) as gw:
        _apply(gw, url, "minute: 20")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = [s for s, _, _ in pool.map(lambda _: _get(gw), range(40))]
        assert statuses.count(200) == 20, statuses
        assert statuses.count(429) == 20, statuses


def test_invalid_configs_are_refused(tmp_path: Path) -> None:
    with echo_server() as url, start_gateway(tmp_path) as gw:
        for config, expected in [
            ("limit_by: ip", "at least one of"),
            ("minute: 10\nsecond: 20", "cannot be lower than the limit for second"),
            ("minute: 1\npolicy: cluster", "'cluster'"),
            ("minute: 1\npolicy: redis", "config.redis.host"),
            ("minute: 1\nsync_rate: 1", "sync_rate"),
        ]:
            indented = "\n".join(" " * 14 + line for line in config.splitlines())
            done = gw.apply(SERVICE.format(url=url, config=indented))
            assert done.returncode != 0, config
            assert expected in done.stdout + done.stderr, (config, done.stderr)
        assert gw.admin("GET", "/plugins")[1]["data"] == []


def test_two_nodes_share_redis_and_survive_its_outage(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        redis_server(tmp_path, password="redis-s3cret") as redis,
        echo_server() as url,
        start_gateway(tmp_path / "a") as a,
        start_gateway(tmp_path / "b") as b,
    ):
        config = (
            f"minute: 6\npolicy: redis\nredis:\n  host: 127.0.0.1\n  port: {redis.port}\n"
            "  password: redis-s3cret\n  timeout: 500"
        )
        _apply(a, url, config)
        _apply(b, url, config)
        statuses = [_get(node)[0] for node in (a, b) * 5]
        assert statuses.count(200) == 6 and statuses.count(429) == 4, statuses

        redis.stop()
        started = time.monotonic()
        status, headers, _ = _get(a)  # fault_tolerant (default): through, uncounted
        assert status == 200 and "x-ratelimit-limit-minute" not in headers
        assert time.monotonic() - started < 5
        strict = config + "\nfault_tolerant: false"
        _apply(b, url, strict)
        status, _, body = _get(b)
        assert status == 500 and b"unexpected error" in body
        for node in (a, b):
            log = node.error_log() + node.log_path.read_text()
            assert f"127.0.0.1:{redis.port}" in log
            assert "redis-s3cret" not in log
