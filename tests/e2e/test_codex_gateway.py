"""The real Codex CLI (``codex exec``) through a real lockgate gateway on a
``route_type: llm/v1/responses`` route: to OpenAI (the Responses body passed
through), to Anthropic and to Gemini (translated). Each target answers a
plain question and a shell-tool round trip (the emulator scripts a call of
Codex's shell tool; Codex runs it; the result reaches the provider in its own
form). The emulator's recorded requests and the gateway's log record show
what went where."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.codex import CodexRun, make_codex_home, run_codex
from tests.support.processes import start_emulator, start_gateway

MARKER = "lockgate-codex-ok"
TOOL_PROMPT = f'Run this: [[tool exec_command {{"cmd": "echo {MARKER}"}}]]'
GATEWAY_KEY = "codex-dummy-key"
PATCH_PROMPT = (
    'Patch: [[tool apply_patch {"input": "*** Begin Patch\\n*** Add File: made.txt\\n'
    '+made by codex\\n*** End Patch\\n"}]]'
)


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    path: str  # the emulator path the provider's calls reach
    auth: dict[str, Any]
    credential: tuple[str, str]  # (header or query, what it starts with) upstream

    @property
    def upstream_url(self) -> str:
        return "" if self.provider == "gemini" else self.path


TARGETS = [
    Target(
        "openai",
        "gpt-5.5",
        "/openai/v1/responses",
        {"header_name": "Authorization", "header_value": "Bearer sk-openai-codex"},
        ("authorization", "Bearer sk-openai-codex"),
    ),
    Target(
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "/anthropic/v1/messages",
        {"header_name": "x-api-key", "header_value": "sk-ant-codex"},
        ("x-api-key", "sk-ant-codex"),
    ),
    Target(
        "gemini",
        "gemini-2.5-flash",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        {"param_name": "key", "param_value": "gemini-codex-key", "param_location": "query"},
        ("query", "key=gemini-codex-key"),
    ),
]


def _config(emulator: str, target: Target, log_path: Path) -> str:
    options: dict[str, Any] = {}
    if target.upstream_url:
        options["upstream_url"] = emulator + target.upstream_url
    else:
        options["upstream_url"] = emulator
    proxy = {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/responses",
            "llm_format": "openai",
            "auth": target.auth,
            "logging": {"log_statistics": True, "log_payloads": False},
            "model": {"provider": target.provider, "name": target.model, "options": options},
        },
    }
    route = {
        "name": "codex",
        "paths": ["/codex"],
        "plugins": [proxy, {"name": "file-log", "config": {"path": str(log_path)}}],
    }
    service = {"name": "codex", "url": emulator, "routes": [route]}
    return yaml.safe_dump({"_format_version": "3.0", "services": [service]})


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def _requests(emulator: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator + "/_emulator/requests", timeout=10) as resp:
        records: list[dict[str, Any]] = json.loads(resp.read())
    return records


def _clear(emulator: str) -> None:
    req = urllib.request.Request(emulator + "/_emulator/requests", method="DELETE")
    urllib.request.urlopen(req, timeout=10).close()


def _check_round_trip(plain: CodexRun, tool: CodexRun, answered_by: str) -> None:
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert f"Hello from the {answered_by} emulator" in plain.answer, plain.events
    assert tool.returncode == 0, tool.stderr[-3000:]
    ran = [c for c in tool.commands if MARKER in c["command"]]
    assert ran and ran[0]["exit_code"] == 0 and MARKER in ran[0]["aggregated_output"], tool.events
    assert "Tool result:" in tool.answer and MARKER in tool.answer, tool.answer
    assert tool.usage["input_tokens"] > 0 and tool.usage["output_tokens"] > 0


@pytest.mark.parametrize("target", TARGETS, ids=[t.provider for t in TARGETS])
def test_codex_through_lockgate(target: Target, emulator: str, tmp_path: Path) -> None:
    _clear(emulator)
    log_path = tmp_path / "codex-log.json"
    with start_gateway(tmp_path) as gw:
        applied = gw.apply(_config(emulator, target, log_path))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        home = make_codex_home(tmp_path, f"{gw.proxy_url}/codex", target.model)
        work = tmp_path / "work"
        work.mkdir()
        plain = run_codex(home, "Say hello.", cwd=work, key=GATEWAY_KEY)
        tool = run_codex(home, TOOL_PROMPT, cwd=work, key=GATEWAY_KEY)
        time.sleep(0.5)  # log lines are written just after each response
        error_log = gw.error_log()
    _check_round_trip(plain, tool, target.provider)

    calls = [r for r in _requests(emulator) if r["path"].startswith(target.path.split(":")[0])]
    assert len(calls) == 3, ([r["path"] for r in _requests(emulator)], error_log[-2000:])
    for call in calls:
        where, value = target.credential
        seen = call["query"] if where == "query" else call["headers"].get(where, "")
        assert seen.startswith(value) if where != "query" else value in seen, call["headers"]
        assert GATEWAY_KEY not in json.dumps(call["headers"]) + call["query"]
    last = calls[-1]["body"]
    if target.provider == "openai":
        # Passed through: Codex's own request, model and all.
        assert last["model"] == target.model and last["store"] is False
        assert [i["type"] for i in last["input"][-2:]] == ["function_call", "function_call_output"]
    elif target.provider == "anthropic":
        assert last["model"] == target.model
        results = [
            block
            for message in last["messages"]
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
        assert results and MARKER in json.dumps(results[-1]), last["messages"][-2:]
    else:
        responses = [
            part["functionResponse"]
            for content in last["contents"]
            for part in content["parts"]
            if "functionResponse" in part
        ]
        assert responses and MARKER in json.dumps(responses[-1]), last["contents"][-2:]

    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    posts = [r for r in records if r["request"]["method"] == "POST"]
    assert len(posts) == 3, records
    raw_log = log_path.read_text()
    assert GATEWAY_KEY not in raw_log
    assert str(target.credential[1]).split()[-1].split("=")[-1] not in raw_log
    for record in posts:
        assert record["request"]["uri"].startswith("/codex/responses")
        assert record["response"]["status"] == 200
        proxy = record["ai"]["proxy"]
        assert proxy["meta"]["provider_name"] == target.provider
        assert proxy["meta"]["request_model"] == target.model
        assert proxy["meta"]["request_mode"] == "stream"
        assert record["upstream_uri"].startswith(target.path.split(":")[0])
        usage = proxy["usage"]
        assert usage["cost_source"] == "list_price" and usage["cost"] > 0, usage
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("target", TARGETS, ids=[t.provider for t in TARGETS])
def test_codex_patch_through_lockgate(target: Target, emulator: str, tmp_path: Path) -> None:
    """Codex's freeform apply_patch tool (a ``custom`` tool, its input a Lark
    grammar's text) survives the trip: the provider calls it, Codex applies the
    patch, and the outcome reaches the provider in its own form."""
    _clear(emulator)
    with start_gateway(tmp_path) as gw:
        applied = gw.apply(_config(emulator, target, tmp_path / "log.json"))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        # Codex offers apply_patch only for models it has metadata for: the
        # others borrow gpt-5.5's (the full tool set: custom, tool_search...).
        like = None if target.provider == "openai" else "gpt-5.5"
        home = make_codex_home(tmp_path, f"{gw.proxy_url}/codex", target.model, like)
        work = tmp_path / "work"
        work.mkdir()
        run = run_codex(home, PATCH_PROMPT, cwd=work, key=GATEWAY_KEY)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "made.txt").read_text() == "made by codex\n"
    assert "Tool result:" in run.answer and "made.txt" in run.answer, run.answer
    calls = [r for r in _requests(emulator) if r["path"].startswith(target.path.split(":")[0])]
    assert len(calls) == 2, [r["path"] for r in _requests(emulator)]
    assert "Success. Updated the following files" in json.dumps(calls[-1]["body"])


CHAIN_PROMPT = (
    "[[think]] [[chain]] "
    '[[tool exec_command {"cmd": "echo step-one-ok"}]] '
    '[[tool exec_command {"cmd": "echo step-two-ok"}]]'
)
GEMINI_3 = Target(
    "gemini",
    "gemini-3-pro-preview",
    "/v1beta/models/gemini-3-pro-preview:streamGenerateContent",
    TARGETS[2].auth,
    TARGETS[2].credential,
)


@pytest.mark.parametrize("target", [TARGETS[0], GEMINI_3], ids=["openai", "gemini-3"])
def test_codex_two_step_turn_through_lockgate(
    target: Target, emulator: str, tmp_path: Path
) -> None:
    """An agent turn of two tool steps, each request replaying the earlier
    steps with the reasoning Codex got back. Gemini 3 refuses a function call
    replayed without its thought signature, so the second step reaches it only
    if the signature survived the round trip through Codex's reasoning items."""
    _clear(emulator)
    with start_gateway(tmp_path) as gw:
        applied = gw.apply(_config(emulator, target, tmp_path / "log.json"))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        like = None if target.provider == "openai" else "gpt-5.5"
        home = make_codex_home(tmp_path, f"{gw.proxy_url}/codex", target.model, like)
        work = tmp_path / "work"
        work.mkdir()
        run = run_codex(home, CHAIN_PROMPT, cwd=work, key=GATEWAY_KEY)
    assert run.returncode == 0, run.stderr[-3000:]
    commands = [c["command"] for c in run.commands]
    assert len(commands) == 2 and "step-one-ok" in commands[0] and "step-two-ok" in commands[1]
    assert "step-two-ok" in run.answer, run.answer
    calls = [r for r in _requests(emulator) if r["path"].startswith(target.path.split(":")[0])]
    assert len(calls) == 3, [r["path"] for r in _requests(emulator)]
    last = calls[-1]["body"]
    if target.provider == "gemini":
        signed = [
            part.get("thoughtSignature", "")
            for content in last["contents"]
            if content["role"] == "model"
            for part in content["parts"]
            if "functionCall" in part
        ]
        assert len(signed) == 2 and all(signed), last["contents"]
    else:
        kinds = [i["type"] for i in last["input"]]
        assert kinds.count("reasoning") == 2 and kinds.count("function_call_output") == 2


def test_provider_error_reaches_codex_in_openai_shape(emulator: str, tmp_path: Path) -> None:
    """Anthropic's 400 reaches Codex as OpenAI's error body (which Codex shows
    as is, without retrying), not in Anthropic's shape."""
    _clear(emulator)
    target = TARGETS[1]
    with start_gateway(tmp_path) as gw:
        applied = gw.apply(_config(emulator, target, tmp_path / "log.json"))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        home = make_codex_home(tmp_path, f"{gw.proxy_url}/codex", target.model)
        work = tmp_path / "work"
        work.mkdir()
        run = run_codex(home, "hello [[fail 400]]", cwd=work, key=GATEWAY_KEY)
    assert run.returncode != 0
    failed = [e for e in run.events if e.get("type") == "turn.failed"]
    assert failed, run.events
    body = json.loads(failed[-1]["error"]["message"])
    assert set(body) == {"error"} and body["error"]["type"] == "invalid_request_error", body
    assert body["error"]["message"] == "Emulated invalid request."  # Anthropic's words
    calls = [r for r in _requests(emulator) if r["path"].startswith(target.path)]
    assert len(calls) == 1  # a 400 is not retried
