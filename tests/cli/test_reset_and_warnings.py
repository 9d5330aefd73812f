"""Tutorials in a row and safe defaults (issue 15, parts 2 and 9):
``gateway reset``, and the warnings ``apply``/``sync``/``start`` print."""

from __future__ import annotations

import io
import pathlib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.cli.test_gateway_cli import TUTORIAL, Run, gateway, get
from tests.support.processes import (
    GatewayProcess,
    _env,
    free_port,
    lockgate_cmd,
    run_lockgate,
    start_gateway,
    wait_http,
)

from lockgate.cli.config_warnings import config_warnings
from lockgate.cli.gateway import run_gateway

GEMINI_GLOBAL = """
_format_version: "3.0"
plugins:
- name: ai-proxy-advanced
  config:
    llm_format: anthropic
    targets:
    - route_type: llm/v1/chat
      auth: {param_name: key, param_location: query, param_value: AIza-gemini-key}
      model: {provider: gemini, name: gemini-2.0-flash}
"""
DASHSCOPE_GLOBAL = """
_format_version: "3.0"
plugins:
- name: ai-proxy
  config:
    llm_format: anthropic
    route_type: llm/v1/chat
    auth: {header_name: Authorization, header_value: Bearer sk-dashscope}
    model: {provider: dashscope, name: qwen-plus}
"""
KEY_AUTH = """
_format_version: "3.0"
plugins:
- name: key-auth
  route: example-route
consumers:
- username: me
  keyauth_credentials:
  - key: my-gateway-key
"""


async def test_reset_force_deletes_everything(admin_url: str) -> None:
    for text in (TUTORIAL, DASHSCOPE_GLOBAL, KEY_AUTH):
        assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=text)).status == 0
    run = await gateway("reset", "--force", "--admin-url", admin_url)
    assert run.status == 0, run.err
    assert run.out.splitlines()[-4:] == ["Summary:", "  Created: 0", "  Updated: 0", "  Deleted: 6"]
    assert "deleting plugin ai-proxy (global)" in run.out
    for kind in ("services", "routes", "plugins", "consumers"):
        assert (await get(f"{admin_url}/{kind}"))["data"] == []


async def test_reset_without_a_terminal_refuses_instead_of_waiting(admin_url: str) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)).status == 0
    run = await gateway("reset", "--admin-url", admin_url, stdin="y\n")  # a pipe, not a terminal
    assert run.status == 1
    assert "stdin is not a terminal" in run.err and "--force" in run.err
    assert len((await get(f"{admin_url}/services"))["data"]) == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_reset_asks_on_a_terminal(admin_url: str) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)).status == 0

    async def answer(text: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        status = await run_gateway(
            ["reset", "--admin-url", admin_url],
            stdin=Terminal(text),
            stdout=out,
            stderr=err,
            env={},
        )
        return Run(status, out.getvalue(), err.getvalue())

    no = await answer("n\n")
    assert no.status == 0 and "Are you sure?" in no.err and no.out == "Nothing deleted.\n"
    assert len((await get(f"{admin_url}/services"))["data"]) == 1
    yes = await answer("y\n")
    assert yes.status == 0 and "deleting service example-service" in yes.out
    assert (await get(f"{admin_url}/services"))["data"] == []


async def test_reset_can_keep_consumers(admin_url: str) -> None:
    consumer_plugin = (
        '_format_version: "3.0"\nplugins:\n- name: file-log\n  consumer: me\n'
        "  config: {path: /tmp/me.json}\n"
    )
    for text in (TUTORIAL, KEY_AUTH, consumer_plugin):
        run = await gateway("apply", "-", "--admin-url", admin_url, stdin=text)
        assert run.status == 0, run.err
    run = await gateway("reset", "-f", "--skip-consumers", "--admin-url", admin_url)
    assert run.status == 0, run.err
    assert [c["username"] for c in (await get(f"{admin_url}/consumers"))["data"]] == ["me"]
    keys = (await get(f"{admin_url}/consumers/me/key-auth"))["data"]
    assert [k["key"] for k in keys] == ["my-gateway-key"]
    assert [p["name"] for p in (await get(f"{admin_url}/plugins"))["data"]] == ["file-log"]
    assert (await get(f"{admin_url}/services"))["data"] == []


def test_reset_through_the_real_command_does_not_hang(tmp_path: pathlib.Path) -> None:
    with start_gateway(tmp_path) as gw:
        assert gw.apply(TUTORIAL).returncode == 0
        refused = run_lockgate(["gateway", "reset", "--admin-url", gw.admin_url], timeout=30)
        assert refused.returncode == 1 and "--force" in refused.stderr
        done = run_lockgate(["gateway", "reset", "--force", "--admin-url", gw.admin_url])
        assert done.returncode == 0, done.stderr
        assert gw.admin("GET", "/services")[1]["data"] == []


# -- two AI proxies ------------------------------------------------------------------


async def test_apply_warns_when_two_ai_proxies_serve_one_route(admin_url: str) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)).status == 0
    first = await gateway("apply", "-", "--admin-url", admin_url, stdin=GEMINI_GLOBAL)
    assert first.status == 0 and "two AI proxy plugins" not in first.err
    # the next tutorial, without a reset
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=DASHSCOPE_GLOBAL)
    assert run.status == 0
    assert (
        "Warning: route example-route is served by two AI proxy plugins, ai-proxy (global) "
        "and ai-proxy-advanced (global): a request gets only one of them." in run.err
    )
    assert "lockgate gateway reset --force" in run.err
    # sync to one of them: the warning goes away
    synced = await gateway(
        "sync", "-", "--admin-url", admin_url, stdin=TUTORIAL + DASHSCOPE_GLOBAL.split("\n", 2)[2]
    )
    assert synced.status == 0 and "two AI proxy plugins" not in synced.err


def _doc(*plugins: dict[str, Any]) -> dict[str, Any]:
    return {
        "services": [{"name": "s", "host": "h"}],
        "routes": [
            {"name": "a", "paths": ["/a"], "service": {"name": "s"}},
            {"name": "b", "paths": ["/b"], "service": {"name": "s"}},
        ],
        "plugins": list(plugins),
    }


AUTHED = {"auth": {"header_name": "x-api-key", "header_value": "sk-ant-x"}}


def test_overlap_follows_kongs_plugin_precedence() -> None:
    proxy = {"name": "ai-proxy", "config": AUTHED}
    advanced = {"name": "ai-proxy-advanced", "config": {"targets": [AUTHED]}}
    loopback = ["127.0.0.1"]
    # a route-scoped ai-proxy beside a global ai-proxy-advanced: both run on route a only
    lines = config_warnings(_doc({**proxy, "route": {"name": "a"}}, advanced), loopback)
    assert len(lines) == 1 and lines[0].startswith("route a is served by two AI proxy plugins")
    # the same plugin at two scopes: the route one replaces the global one (no overlap)
    assert config_warnings(_doc({**proxy, "route": {"name": "a"}}, proxy), loopback) == []
    # a service-scoped one overlaps on every route of the service
    lines = config_warnings(_doc({**advanced, "service": {"name": "s"}}, proxy), loopback)
    assert [line.split(" is ")[0] for line in lines] == ["route a", "route b"]
    # disabled and consumer-scoped plugins never serve an anonymous request
    assert config_warnings(_doc({**advanced, "enabled": False}, proxy), loopback) == []
    assert config_warnings(_doc({**advanced, "consumer": {"username": "u"}}, proxy), loopback) == []


def test_open_credential_warning_needs_every_condition() -> None:
    proxy = {"name": "ai-proxy", "config": AUTHED}
    lines = config_warnings(_doc(proxy), ["0.0.0.0"])
    assert [line.split(" injects")[0] for line in lines] == ["route a", "route b"]
    assert "(config.auth.header_value)" in lines[0] and "0.0.0.0" in lines[0]
    assert config_warnings(_doc(proxy), ["127.0.0.1", "::1", "localhost"]) == []
    key_auth = {"name": "key-auth", "route": {"name": "a"}}
    assert [
        line.split(" injects")[0] for line in config_warnings(_doc(proxy, key_auth), ["::"])
    ] == ["route b"]
    no_credential = {"name": "ai-proxy", "config": {"auth": {"allow_override": True}}}
    assert config_warnings(_doc(no_credential), ["0.0.0.0"]) == []
    vertex = {
        "name": "ai-proxy-advanced",
        "config": {"targets": [{"auth": {"gcp_use_service_account": True}}]},
    }
    assert "config.targets[0].auth" in config_warnings(_doc(vertex), ["10.1.2.3"])[0]


# -- safe by default: real processes ---------------------------------------------------


@contextmanager
def exposed_gateway(tmp: pathlib.Path) -> Iterator[GatewayProcess]:
    """A gateway whose proxy listens on every interface, as `lockgate start` does by default."""
    proxy_port, admin_port = free_port(), free_port()
    prefix, log_path = tmp / "prefix", tmp / f"gateway-{proxy_port}.out"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [
                *lockgate_cmd(),
                "start",
                "--proxy-listen",
                f"0.0.0.0:{proxy_port}",
                "--admin-listen",
                f"127.0.0.1:{admin_port}",
                "--workers",
                "1",
                "--prefix",
                str(prefix),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        gw = GatewayProcess(proc, prefix, proxy_port, admin_port, log_path)
        try:
            wait_http(gw.admin_url + "/status", proc=proc)
            wait_http(gw.proxy_url + "/", proc=proc)
            yield gw
        finally:
            gw.stop()


ROUTE_PROXY = TUTORIAL + DASHSCOPE_GLOBAL.split("\n", 2)[2]


def test_start_and_apply_warn_about_an_open_provider_credential(tmp_path: pathlib.Path) -> None:
    with exposed_gateway(tmp_path) as gw:
        run = gw.apply(ROUTE_PROXY)
        assert run.returncode == 0, run.stderr
        assert (
            "Warning: route example-route injects the provider credential of ai-proxy (global) (config.auth.header_value) for any caller"
            in run.stderr
        )
        assert "0.0.0.0" in run.stderr and "sk-dashscope" not in run.stderr
    # the stored configuration is checked when the gateway starts again
    with exposed_gateway(tmp_path) as gw:
        gw.stop()
        output = gw.log_path.read_text()
        assert "route example-route injects the provider credential" in output
        assert "route example-route injects the provider credential" in gw.error_log()
    with exposed_gateway(tmp_path) as gw:
        authed = gw.apply(KEY_AUTH)
        assert authed.returncode == 0, authed.stderr
        assert "injects the provider credential" not in authed.stderr


def test_no_open_credential_warning_on_loopback(tmp_path: pathlib.Path) -> None:
    with start_gateway(tmp_path) as gw:
        run = gw.apply(ROUTE_PROXY)
        assert run.returncode == 0, run.stderr
        assert "injects the provider credential" not in run.stderr
        # the two-proxies warning through the real command
        both = gw.apply(GEMINI_GLOBAL)
        assert "served by two AI proxy plugins" in both.stderr
        info = gw.admin("GET", "/")[1]
        assert [item["ip"] for item in info["configuration"]["proxy_listeners"]] == ["127.0.0.1"]
