"""Plugins scoped to a consumer group apply to its members once key-auth has
named the consumer, with Kong's precedence (consumer over group over route),
through the real gateway."""

from __future__ import annotations

import http.client
from pathlib import Path

from tests.support.echo import echo_server
from tests.support.processes import start_gateway

CONFIG = """
_format_version: "3.0"
services:
  - name: svc
    url: {url}/anything
    routes:
      - name: r
        paths: ["/team"]
        plugins:
          - name: key-auth
            config:
              key_names: [x-api-key]
consumer_groups:
  - name: limited
    plugins:
      - name: rate-limiting
        config:
          minute: 2
consumers:
  - username: ana
    groups: [{{name: limited}}]
    keyauth_credentials: [{{key: key-ana}}]
  - username: bo
    keyauth_credentials: [{{key: key-bo}}]
  - username: cy
    groups: [{{name: limited}}]
    keyauth_credentials: [{{key: key-cy}}]
    plugins:
      - name: rate-limiting
        config:
          minute: 4
"""


def _status(port: int, key: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/team", headers={"x-api-key": key})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_group_plugins_apply_to_members(tmp_path: Path) -> None:
    with echo_server() as url, start_gateway(tmp_path) as gw:
        done = gw.apply(CONFIG.format(url=url))
        assert done.returncode == 0, done.stderr
        gw.wait_config()
        port = gw.proxy_port
        assert [_status(port, "key-ana") for _ in range(3)] == [200, 200, 429]
        assert [_status(port, "key-bo") for _ in range(5)] == [200] * 5
        assert [_status(port, "key-cy") for _ in range(5)] == [200, 200, 200, 200, 429]
        assert _status(port, "wrong") == 401
