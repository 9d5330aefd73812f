"""Errors that point the way (issue 15, part 4)."""

from __future__ import annotations

import pathlib
import socket

from tests.cli.test_gateway_cli import TUTORIAL, gateway, get
from tests.support.processes import run_lockgate

from lockgate.llm.providers import provider_names
from lockgate.plugins.registry import plugin_names

BARE_NAMES = """
_format_version: "3.0"
services:
- name: example-service
  url: http://httpbin.konghq.com/anything
routes:
- name: my-route
  paths: [/anything]
  service: example-service
consumers:
- username: me
plugins:
- name: file-log
  route: my-route
  config: {path: /tmp/route.json}
- name: file-log
  service: example-service
  config: {path: /tmp/service.json}
- name: file-log
  consumer: me
  config: {path: /tmp/consumer.json}
"""


async def test_references_by_bare_name_as_kong_allows(admin_url: str) -> None:
    run = await gateway("validate", "-", stdin=BARE_NAMES)
    assert run.status == 0, run.err
    assert "Traceback" not in run.err
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=BARE_NAMES)
    assert run.status == 0, run.err
    assert "creating plugin file-log for route my-route\n" in run.out
    assert "creating plugin file-log for service example-service\n" in run.out
    assert "creating plugin file-log for consumer me\n" in run.out
    route = await get(f"{admin_url}/routes/my-route")
    plugins = (await get(f"{admin_url}/routes/my-route/plugins"))["data"]
    assert [p["route"] for p in plugins] == [{"id": route["id"]}]
    # applying it again changes nothing: the bare names match the stored entities
    again = await gateway("apply", "-", "--admin-url", admin_url, stdin=BARE_NAMES)
    assert again.out.endswith("Created: 0\n  Updated: 0\n  Deleted: 0\n")


async def test_a_bare_name_that_names_nothing_is_an_error_not_a_crash() -> None:
    text = '_format_version: "3.0"\nplugins:\n- name: file-log\n  route: ghost\n  config: {path: /tmp/x}\n'
    run = await gateway("validate", "-", stdin=text)
    assert run.status == 1 and run.err.startswith("Error: -: plugins[0].route: ")
    assert "ghost" in run.err


async def test_an_unknown_plugin_gets_the_list_and_a_suggestion() -> None:
    text = '_format_version: "3.0"\nplugins:\n- name: ai-proxy-advance\n'
    run = await gateway("validate", "-", stdin=text)
    assert run.err == (
        "Error: -: plugins[0].name: plugin 'ai-proxy-advance' is not supported by lockgate "
        f"(supported: {', '.join(plugin_names())}); did you mean 'ai-proxy-advanced'?\n"
    )
    far = await gateway("validate", "-", stdin=text.replace("ai-proxy-advance", "zipkin"))
    assert "did you mean" not in far.err and "configuration property" not in far.err


async def test_an_llm_format_error_lists_what_lockgate_serves() -> None:
    text = (
        '_format_version: "3.0"\nplugins:\n- name: ai-proxy\n  config:\n'
        "    route_type: llm/v1/chat\n    llm_format: FORMAT\n    model: {provider: openai}\n"
    )
    unknown = await gateway("validate", "-", stdin=text.replace("FORMAT", "claude"))
    assert (
        unknown.err
        == "Error: -: plugins[0].config.llm_format: expected one of: openai, anthropic, gemini\n"
    )
    kong_only = await gateway("validate", "-", stdin=text.replace("FORMAT", "bedrock"))
    assert kong_only.err == (
        "Error: -: plugins[0].config.llm_format: 'bedrock' is not supported by lockgate yet "
        "(supported: openai, anthropic, gemini)\n"
    )
    advanced = (
        text.replace("ai-proxy\n", "ai-proxy-advanced\n")
        .replace("    route_type: llm/v1/chat\n", "")
        .replace("model: {provider: openai}", "targets: [{model: {provider: openai}}]")
    )
    run = await gateway("validate", "-", stdin=advanced.replace("FORMAT", "cohere2"))
    assert (
        run.err
        == "Error: -: plugins[0].config.llm_format: expected one of: openai, anthropic, gemini\n"
    )


async def test_validate_says_what_it_checked() -> None:
    run = await gateway("validate", "-", stdin=BARE_NAMES)
    assert run.out == (
        "1 file valid (-): 1 service, 1 route, 1 consumer, 3 plugins (file-log); "
        "schemas, plugin configurations and references checked\n"
    )
    empty = await gateway("validate", "-", stdin='_format_version: "3.0"\n')
    assert empty.out.startswith("1 file valid (-): 0 services, 0 routes, 0 consumers, 0 plugins;")


async def test_validate_of_several_files(tmp_path: pathlib.Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(TUTORIAL)
    b.write_text('_format_version: "3.0"\nplugins:\n- name: key-auth\n  route: example-route\n')
    run = await gateway("validate", str(a), str(b))
    assert run.status == 0, run.err
    assert run.out.startswith(
        f"2 files valid ({a}, {b}): 1 service, 1 route, 0 consumers, 1 plugin (key-auth);"
    )


def test_emulate_on_a_busy_port_prints_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = run_lockgate(["emulate", "--listen", f"127.0.0.1:{port}"], timeout=60)
    assert run.returncode == 1
    assert (
        run.stderr
        == f"lockgate emulate: cannot listen on 127.0.0.1:{port}: address already in use\n"
    )


async def test_a_dump_with_key_auth_credentials_syncs_back(admin_url: str) -> None:
    # dump nests credentials under their consumer, as decK does; a file with
    # them at the top level (Kong's declarative format allows it) loads too
    text = (
        '_format_version: "3.0"\nconsumers:\n- username: me\n'
        "  keyauth_credentials:\n  - key: my-gateway-key\n"
    )
    assert (await gateway("apply", "-", "--admin-url", admin_url, stdin=text)).status == 0
    dump = await gateway("dump", "--admin-url", admin_url)
    assert "  keyauth_credentials:\n  - id: " in dump.out
    run = await gateway("sync", "-", "--admin-url", admin_url, stdin=dump.out)
    assert run.status == 0, run.err
    assert run.out.endswith("Created: 0\n  Updated: 0\n  Deleted: 0\n")
    bare = '_format_version: "3.0"\nkeyauth_credentials:\n- key: second-key\n  consumer: me\n'
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=bare)
    assert run.status == 0, run.err
    keys = sorted(k["key"] for k in (await get(f"{admin_url}/consumers/me/key-auth"))["data"])
    assert keys == ["my-gateway-key", "second-key"]


async def test_kong_providers_lockgate_does_not_serve_are_named_with_what_to_use() -> None:
    text = (
        '_format_version: "3.0"\nplugins:\n- name: ai-proxy\n  config:\n'
        "    route_type: llm/v1/chat\n    model: {provider: PROVIDER, name: m}\n"
    )
    supported = ", ".join(provider_names())
    cohere = await gateway("validate", "-", stdin=text.replace("PROVIDER", "cohere"))
    assert cohere.err == (
        "Error: -: plugins[0].config.model.provider: 'cohere' is a Kong provider that "
        f"lockgate does not serve (supported: {supported})\n"
    )
    llama2 = await gateway("validate", "-", stdin=text.replace("PROVIDER", "llama2"))
    assert llama2.err == (
        "Error: -: plugins[0].config.model.provider: 'llama2' is a Kong provider that "
        f"lockgate does not serve (supported: {supported}); a Llama server with an "
        "OpenAI-compatible API (llama2_format: openai) is provider openai, vllm or ollama "
        "with model.options.upstream_url\n"
    )
    made_up = await gateway("validate", "-", stdin=text.replace("PROVIDER", "cohear"))
    assert (
        made_up.err == f"Error: -: plugins[0].config.model.provider: expected one of: {supported}\n"
    )


async def test_claude_on_vertex_without_a_project_is_refused_at_validate() -> None:
    text = (
        '_format_version: "3.0"\nplugins:\n- name: ai-proxy\n  config:\n'
        "    route_type: llm/v1/chat\n    llm_format: anthropic\n"
        "    model: {provider: gemini, name: claude-sonnet-4-5@20250929}\n"
    )
    run = await gateway("validate", "-", stdin=text)
    assert run.err == (
        "Error: -: plugins[0].config.model: options.gemini.project_id: required for the Claude "
        "model 'claude-sonnet-4-5@20250929' (Claude is served by Vertex AI, under a project)\n"
    )
    with_project = text.replace(
        "name: claude-sonnet-4-5@20250929}",
        "name: claude-sonnet-4-5@20250929, options: {gemini: {project_id: p}}}",
    )
    assert (await gateway("validate", "-", stdin=with_project)).status == 0
