"""file-log's custom_fields_by_lua through the real gateway process: values
from the Kong PDK, nested names, nil removing a field, a failing snippet
leaving its field out, and a syntax error refused at apply time."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.echo import echo_server
from tests.support.processes import GatewayProcess, start_gateway

CONFIG = """
_format_version: "3.0"
services:
  - name: echo
    url: {url}/anything
    routes:
      - name: echo
        paths: ["/anything"]
plugins:
  - name: file-log
    config:
      path: "{path}"
      custom_fields_by_lua:
        tenant: "return kong.request.get_header('x-tenant')"
        extra.status: "return kong.response.get_status()"
        extra.list: "return {{1, 2, {{name = 'x'}}}}"
        service: "return nil"
        broken: "local t = nil; return t.field"
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with start_gateway(tmp_path_factory.mktemp("gw")) as gateway:
        yield gateway


def _plugins(gw: GatewayProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(gw.admin_url + "/plugins", timeout=30) as resp:
        data: list[dict[str, Any]] = json.loads(resp.read())["data"]
    return data


def _records(path: Path, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text().splitlines()
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} records in {path}")


def test_custom_fields(gw: GatewayProcess, tmp_path: Path) -> None:
    log_path = tmp_path / "log.json"
    with echo_server() as url:
        result = gw.apply(CONFIG.format(url=url, path=log_path), None, "sync")
        assert result.returncode == 0, result.stdout + result.stderr
        gw.wait_config()
        req = urllib.request.Request(gw.proxy_url + "/anything/x", headers={"X-Tenant": "acme"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
    (record,) = _records(log_path, 1)
    assert record["tenant"] == "acme"
    assert record["extra"] == {"status": 200, "list": [1, 2, {"name": "x"}]}
    assert "service" not in record  # nil removes the field
    assert "broken" not in record  # the failing snippet is left out ...
    assert record["route"]["name"] == "echo" and record["response"]["status"] == 200
    time.sleep(0.3)
    logs = gw.log_path.read_text() + gw.error_log()
    assert "custom field broken failed" in logs  # ... and logged


def test_syntax_error_is_refused_and_changes_nothing(gw: GatewayProcess, tmp_path: Path) -> None:
    bad = (
        '_format_version: "3.0"\nplugins:\n  - name: file-log\n    config:\n'
        f'      path: "{tmp_path / "x.json"}"\n'
        '      custom_fields_by_lua:\n        oops: "return ("\n'
    )
    before = _plugins(gw)
    result = gw.apply(bad, None, "sync")
    assert result.returncode != 0
    assert "custom_fields_by_lua.oops" in result.stdout + result.stderr
    assert _plugins(gw) == before
