"""``lockgate gateway apply|sync|diff|dump|validate`` against a real Admin API."""

from __future__ import annotations

import io
import pathlib
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from lockgate.cli.gateway import main_gateway, run_gateway
from lockgate.config.yaml_core import load_yaml
from lockgate.store.sqlite import SQLiteStore

# The tutorial's "required entities" file, as `echo '...' | deck gateway apply -` sends it.
TUTORIAL = """
_format_version: "3.0"
services:
  - name: example-service
    url: http://httpbin.konghq.com/anything
routes:
  - name: example-route
    paths:
    - "/anything"
    service:
      name: example-service
"""

FILE_LOG = """
_format_version: "3.0"
plugins:
- name: file-log
  config:
    path: "/tmp/claude.json"
"""


@dataclass
class Run:
    status: int
    out: str
    err: str


async def gateway(*argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    status = await run_gateway(
        list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err, env=env or {}
    )
    return Run(status, out.getvalue(), err.getvalue())


async def get(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return await resp.json()


def summary(created: int, updated: int, deleted: int) -> str:
    return f"Summary:\n  Created: {created}\n  Updated: {updated}\n  Deleted: {deleted}\n"


async def test_apply_tutorial_file(admin_url: str) -> None:
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)
    assert run.status == 0, run.err
    assert run.out == "creating service example-service\ncreating route example-route\n" + summary(
        2, 0, 0
    )
    service = await get(f"{admin_url}/services/example-service")
    route = await get(f"{admin_url}/routes/example-route")
    assert service["host"] == "httpbin.konghq.com" and route["service"] == {"id": service["id"]}
    # with no file, stdin is read
    again = await gateway("apply", "--admin-url", admin_url, stdin=TUTORIAL)
    assert again.status == 0 and again.out == summary(0, 0, 0)


async def test_apply_does_not_delete_and_sync_does(admin_url: str) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)).status == 0
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=FILE_LOG)
    assert run.status == 0, run.err
    assert run.out == "creating plugin file-log (global)\n" + summary(1, 0, 0)
    assert len((await get(f"{admin_url}/services"))["data"]) == 1
    run = await gateway("sync", "-", "--admin-url", admin_url, stdin=FILE_LOG)
    assert run.status == 0, run.err
    assert run.out == "deleting route example-route\ndeleting service example-service\n" + summary(
        0, 0, 2
    )
    assert (await get(f"{admin_url}/services"))["data"] == []
    assert [p["name"] for p in (await get(f"{admin_url}/plugins"))["data"]] == ["file-log"]


async def test_diff_shows_changes_and_changes_nothing(admin_url: str, store: SQLiteStore) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)).status == 0
    version = await store.version()
    changed = TUTORIAL.replace("httpbin.konghq.com", "httpbin.org") + FILE_LOG.split("\n", 2)[2]
    run = await gateway("diff", "-", "--admin-url", admin_url, stdin=changed)
    assert run.status == 0, run.err
    assert run.out == (
        "updating service example-service\n"
        '  - host: "httpbin.konghq.com"\n'
        '  + host: "httpbin.org"\n'
        "creating plugin file-log (global)\n" + summary(1, 1, 0)
    )
    assert await store.version() == version
    assert (await get(f"{admin_url}/services/example-service"))["host"] == "httpbin.konghq.com"


async def test_dump_then_sync_the_dump_changes_nothing(
    admin_url: str, tmp_path: pathlib.Path
) -> None:
    assert (
        await gateway(
            "apply", "-", "--admin-url", admin_url, stdin=TUTORIAL + FILE_LOG.split("\n", 2)[2]
        )
    ).status == 0
    run = await gateway("dump", "--admin-url", admin_url)
    assert run.status == 0, run.err
    document = load_yaml(run.out)
    assert document["_format_version"] == "3.0" and run.out.startswith('_format_version: "3.0"\n')
    assert [s["name"] for s in document["services"]] == ["example-service"]
    assert document["plugins"][0]["config"]["path"] == "/tmp/claude.json"
    again = await gateway("sync", "-", "--admin-url", admin_url, stdin=run.out)
    assert again.status == 0 and again.out == summary(0, 0, 0), again.err
    target = tmp_path / "kong.json"
    run = await gateway("dump", "-o", str(target), "--format", "json", "--admin-url", admin_url)
    assert run.status == 0 and run.out == "" and '"example-service"' in target.read_text()
    assert (await gateway("diff", str(target), "--admin-url", admin_url)).out == summary(0, 0, 0)


async def test_dump_quotes_strings_a_yaml_12_reader_would_retype(admin_url: str) -> None:
    tricky = """
_format_version: "3.0"
services:
- name: s
  host: h
  tags: ["2023-06-01", "true", "1e5", "0o17", "null", "yes", "multi"]
"""
    assert (await gateway("sync", "-", "--admin-url", admin_url, stdin=tricky)).status == 0
    run = await gateway("dump", "--admin-url", admin_url)
    assert load_yaml(run.out)["services"][0]["tags"] == [
        "2023-06-01",
        "true",
        "1e5",
        "0o17",
        "null",
        "yes",
        "multi",
    ]


async def test_env_substitution_from_the_callers_environment(admin_url: str) -> None:
    text = '_format_version: "3.0"\nplugins:\n- name: file-log\n  config:\n    path: ${{ env "DECK_LOG_PATH" }}\n'
    run = await gateway(
        "apply",
        "-",
        "--admin-url",
        admin_url,
        stdin=text,
        env={"DECK_LOG_PATH": "/tmp/from-env.json"},
    )
    assert run.status == 0, run.err
    assert (await get(f"{admin_url}/plugins"))["data"][0]["config"]["path"] == "/tmp/from-env.json"
    run = await gateway(
        "diff",
        "-",
        "--admin-url",
        admin_url,
        stdin=text,
        env={"DECK_LOG_PATH": "/tmp/secret-path.json"},
    )
    assert "secret-path" not in run.out and "[masked]" in run.out


async def test_several_files_and_admin_url_from_environment(
    admin_url: str, tmp_path: pathlib.Path
) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(TUTORIAL)
    second = tmp_path / "b.yaml"
    second.write_text(FILE_LOG)
    run = await gateway("sync", str(first), str(second), env={"LOCKGATE_ADMIN_URL": admin_url})
    assert run.status == 0, run.err
    assert run.out.endswith(summary(3, 0, 0))


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('_format_version: "3.0"\nservices:\n- name: [unclosed\n', {}, "-: invalid YAML"),
        (
            '_format_version: "3.0"\nservices:\n- name: s\n  host: h\n  colour: blue\n',
            {},
            "-: services[0].colour: unknown field",
        ),
        (
            '_format_version: "3.0"\nplugins:\n- name: no-such-plugin\n',
            {},
            "-: plugins[0].name: plugin 'no-such-plugin' is not supported by lockgate (supported: ai-proxy,",
        ),
        (
            '_format_version: "3.0"\nservices:\n- name: s\n  host: ${{ env "DECK_UNSET" }}\n',
            {},
            "DECK_UNSET",
        ),
        (
            '_format_version: "3.0"\nservices:\n- name: s\n  host: ${{ env "HOME" }}\n',
            {"HOME": "/root"},
            "'HOME' is not allowed",
        ),
        (
            '_format_version: "3.0"\nroutes:\n- name: r\n  paths: ["~/(unclosed"]\n',
            {},
            "-: routes[0].paths: invalid regex",
        ),
        (
            '_format_version: "3.0"\nservices:\n- name: s\n  host: h\n- name: s\n  host: i\n',
            {},
            "-: services[1].name: duplicate 's': already defined at -: services[0]",
        ),
        (
            '_format_version: "3.0"\nplugins:\n- name: file-log\n  config:\n    path: /a\n- name: file-log\n  config:\n    path: /b\n',
            {},
            "-: plugins[1].name: duplicate 'file-log' plugin (global)",
        ),
        (
            '_format_version: "3.0"\nplugins:\n- name: ai-proxy\n  config:\n    route_type: llm/v1/chat\n    model:\n      provider: nope\n',
            {},
            "-: plugins[0].config.model.provider: ",
        ),
    ],
)
async def test_invalid_files_are_rejected_before_anything_is_sent(
    admin_url: str, store: SQLiteStore, text: str, env: dict[str, str], expected: str
) -> None:
    for command in ("validate", "apply", "sync", "diff"):
        run = (
            await gateway(command, "-", "--admin-url", admin_url, stdin=text, env=env)
            if command != "validate"
            else await gateway(command, "-", stdin=text, env=env)
        )
        assert run.status == 1 and run.out == ""
        assert run.err.startswith("Error: ") and expected in run.err, run.err
    assert await store.version() == 0


async def test_several_errors_are_all_reported(admin_url: str) -> None:
    text = '_format_version: "3.0"\nservices:\n- name: a\n- name: b\n  host: h\n  routes:\n  - name: r\nplugins:\n- name: file-log\n'
    run = await gateway("validate", "-", stdin=text)
    assert run.status == 1
    assert run.err.splitlines() == [
        "Error: -: services[0].host: required field missing",
        "Error: -: services[1].routes[0]: must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http' or 'https'",
        "Error: -: plugins[0].config.path: required field missing",
    ]


async def test_validate_is_offline_and_checks_references() -> None:
    run = await gateway("validate", "-", stdin=TUTORIAL + FILE_LOG.split("\n", 2)[2])
    # no server anywhere; it says what it checked
    assert (run.status, run.err) == (0, "")
    assert run.out == (
        "1 file valid (-): 1 service, 1 route, 0 consumers, 1 plugin (file-log); "
        "schemas, plugin configurations and references checked\n"
    )
    dangling = (
        '_format_version: "3.0"\nroutes:\n- name: r\n  paths: [/a]\n  service:\n    name: ghost\n'
    )
    run = await gateway("validate", "-", stdin=dangling)
    assert run.status == 1 and "-: routes[0].service: " in run.err and "ghost" in run.err


async def test_apply_may_reference_existing_entities_sync_may_not(admin_url: str) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=TUTORIAL)).status == 0
    extra = '_format_version: "3.0"\nroutes:\n- name: second\n  paths: [/second]\n  service:\n    name: example-service\n'
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=extra)
    assert run.status == 0 and run.out == "creating route second\n" + summary(1, 0, 0), run.err
    run = await gateway("sync", "-", "--admin-url", admin_url, stdin=extra)
    assert run.status == 1 and "-: routes[0].service: " in run.err


async def test_server_side_errors_name_the_file(admin_url: str, tmp_path: pathlib.Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text('_format_version: "3.0"\nservices:\n- name: s\n  host: h\n')
    second = tmp_path / "b.yaml"
    second.write_text(
        '_format_version: "3.0"\nroutes:\n- name: ok\n  paths: [/ok]\n- name: r\n  paths: [/a]\n  service:\n    name: ghost\n'
    )
    # apply: the reference may exist on the server, so only the server can reject it
    run = await gateway("apply", str(first), str(second), "--admin-url", admin_url)
    assert run.status == 1
    assert run.err.startswith(f"Error: {second}: routes[1].service: "), run.err
    assert (await get(f"{admin_url}/services"))["data"] == []


async def test_unreachable_admin_api_message() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    for argv in (("apply", "-"), ("sync", "-"), ("diff", "-"), ("dump",)):
        run = await gateway(*argv, "--admin-url", url, stdin=TUTORIAL)
        assert run.status == 1
        assert run.err == f"Error: could not reach the Admin API at {url}: connection refused\n"


async def test_usage_errors_exit_2() -> None:
    assert (await gateway("frobnicate")).status == 2
    assert (await gateway("dump", "--format", "xml")).status == 2


async def test_missing_file(tmp_path: pathlib.Path) -> None:
    run = await gateway("validate", str(tmp_path / "nope.yaml"))
    assert run.status == 1 and "nope.yaml" in run.err and "No such file" in run.err


def test_main_gateway_is_a_blocking_entry_point(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kong.yaml"
    path.write_text(TUTORIAL)
    assert main_gateway(["validate", str(path)]) == 0
    path.write_text('_format_version: "3.0"\nservices:\n- name: s\n')
    assert main_gateway(["validate", str(path)]) == 1
    assert f"Error: {path}: services[0].host: required field missing" in capsys.readouterr().err


def test_lockgate_command_has_gateway_subcommands(tmp_path: pathlib.Path) -> None:
    from lockgate.cli.main import main

    path = tmp_path / "kong.yaml"
    path.write_text(TUTORIAL)
    assert main(["gateway", "validate", str(path)]) == 0


async def test_plugin_reapply_and_update(admin_url: str) -> None:
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=FILE_LOG)).status == 0
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=FILE_LOG)
    assert run.out == summary(0, 0, 0), run.err
    changed = FILE_LOG.replace("/tmp/claude.json", "/tmp/other.json")
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=changed)
    assert run.status == 0, run.err
    assert run.out == (
        "updating plugin file-log (global)\n"
        '  - config.path: "/tmp/claude.json"\n'
        '  + config.path: "/tmp/other.json"\n' + summary(0, 1, 0)
    )
    assert len((await get(f"{admin_url}/plugins"))["data"]) == 1


async def test_scoped_plugins_are_labelled_like_deck(admin_url: str) -> None:
    nested = """
_format_version: "3.0"
services:
- name: example-service
  url: http://httpbin.konghq.com/anything
  plugins:
  - name: file-log
    config: {path: /tmp/s.json}
  routes:
  - name: example-route
    paths: ["/anything"]
    plugins:
    - name: file-log
      config: {path: /tmp/r.json}
"""
    run = await gateway("sync", "-", "--admin-url", admin_url, stdin=nested)
    assert run.status == 0, run.err
    assert "creating plugin file-log for service example-service\n" in run.out
    assert "creating plugin file-log for route example-route\n" in run.out
