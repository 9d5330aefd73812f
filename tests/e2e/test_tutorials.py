"""The user's acceptance test: each tutorial of the README, run as a user
runs it (the README's own `echo '...' | lockgate gateway apply -` lines, in
order, through bash), with the real Claude Code CLI as the client and the
provider emulators standing in for the providers."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.support.claude import make_home, run_claude
from tests.support.processes import GatewayProcess, lockgate_cmd, start_emulator, start_gateway
from tests.support.readme import common_blocks, tutorials

LOG_PATH = Path("/tmp/claude.json")
TOOL_PROMPT = (
    'Run this: [[tool Bash {"command":"echo lockgate-e2e-ok","description":"print a marker"}]]'
)
MARKER = "lockgate-e2e-ok"


@dataclass
class Case:
    tutorial: str
    provider: str
    model: str
    emulator_path: str  # the part of the upstream path the emulator must have seen
    credential: tuple[str, str]
    upstream_url: str | None
    plugin: str = "ai-proxy"
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "HuggingFace",
        "huggingface",
        "meta-llama/Llama-3.3-70B-Instruct",
        "/huggingface/v1/chat/completions",
        ("authorization", "Bearer hf-emulated-token"),
        "/huggingface/v1/chat/completions",
        env={"DECK_HUGGINGFACE_API_TOKEN": "hf-emulated-token"},
    ),
    Case(
        "Anthropic",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "/anthropic/v1/messages",
        ("x-api-key", "sk-ant-emulated"),
        "/anthropic/v1/messages",
        env={"DECK_ANTHROPIC_API_KEY": "sk-ant-emulated"},
    ),
    Case(
        "DashScope (Qwen)",
        "dashscope",
        "qwen-plus",
        "/dashscope/compatible-mode/v1/chat/completions",
        ("authorization", "Bearer sk-dashscope-emulated"),
        "/dashscope/compatible-mode/v1/chat/completions",
        env={"DECK_DASHSCOPE_API_KEY": "sk-dashscope-emulated"},
    ),
    Case(
        "Gemini (Vertex AI)",
        "gemini",
        "gemini-2.0-flash",
        "/v1/projects/lockgate-e2e/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent",
        ("authorization", "Bearer "),
        None,
        plugin="ai-proxy-advanced",
        env={"DECK_GCP_PROJECT_ID": "lockgate-e2e", "DECK_GEMINI_LOCATION_ID": "us-central1"},
    ),
    Case(
        "OpenAI",
        "openai",
        "gpt-5-mini",
        "/openai/v1/chat/completions",
        ("authorization", "Bearer sk-openai-emulated"),
        "/openai/v1/chat/completions",
        env={"DECK_OPENAI_API_KEY": "sk-openai-emulated"},
    ),
]


def _http(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def _apply_tutorial(gw: GatewayProcess, case: Case, emulator: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DECK_", "LOCKGATE_"))}
    env.update(case.env)
    env["LOCKGATE_ADMIN_URL"] = gw.admin_url
    env["PATH"] = str(Path(lockgate_cmd()[0]).parent) + os.pathsep + env.get("PATH", "")
    if case.provider == "gemini":
        account = _http("POST", emulator + "/_emulator/service-account", {})
        (tmp / "sa.json").write_text(json.dumps(account))
        env["DECK_GEMINI_API_ENDPOINT"] = emulator
    tutorial = tutorials()[case.tutorial]
    blocks = common_blocks() + tutorial.apply_blocks
    assert len(blocks) >= 3
    outputs = []
    for block in blocks:
        script = block
        if case.provider == "gemini":
            script = f'export DECK_GEMINI_API_KEY="$(cat {tmp / "sa.json"})"\n' + block
        result = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout + result.stderr)
    if case.upstream_url:
        plugins = gw.admin("GET", "/plugins")[1]["data"]
        plugin_id = next(p["id"] for p in plugins if p["name"] == case.plugin)
        status, _ = gw.admin(
            "PATCH",
            f"/plugins/{plugin_id}",
            {"config": {"model": {"options": {"upstream_url": emulator + case.upstream_url}}}},
        )
        assert status == 200
    gw.wait_config()
    return {"apply_output": "\n".join(outputs)}


def _save_artifacts(case: Case, received: list[dict[str, Any]], log: list[dict[str, Any]]) -> None:
    """With LOCKGATE_E2E_ARTIFACTS=DIR, keep a summary of one run per tutorial (for the issue notes)."""
    target = os.environ.get("LOCKGATE_E2E_ARTIFACTS")
    if not target:
        return
    biggest = max(range(len(received)), key=lambda i: len(json.dumps(received[i]["body"])))
    upstream = received[biggest]
    body = upstream["body"]
    summary = {
        "tutorial": case.tutorial,
        "client_request": {k: log[biggest]["request"][k] for k in ("method", "uri", "size")}
        | {
            "headers": {
                k: v
                for k, v in log[biggest]["request"]["headers"].items()
                if k
                in (
                    "user-agent",
                    "anthropic-version",
                    "anthropic-beta",
                    "x-api-key",
                    "authorization",
                    "content-type",
                )
            }
        },
        "provider_received": {
            "path": upstream["path"],
            "query": upstream["query"],
            "headers": {
                k: (v[:14] + "...") if k in ("authorization", "x-api-key") else v
                for k, v in upstream["headers"].items()
                if k
                in (
                    "authorization",
                    "x-api-key",
                    "anthropic-version",
                    "anthropic-beta",
                    "content-type",
                )
            },
            "bytes": len(json.dumps(body)),
            "top_level_keys": sorted(body),
            "model": body.get("model"),
            "tools": len(body.get("tools") or [])
            if case.provider != "gemini"
            else sum(len(t.get("functionDeclarations", [])) for t in body.get("tools") or []),
        },
        "log_record": {
            "upstream_uri": log[biggest]["upstream_uri"],
            "response_status": log[biggest]["response"]["status"],
            "ai": log[biggest].get("ai"),
        },
    }
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{case.provider}.json").write_text(json.dumps(summary, indent=2))


def _log_records() -> list[dict[str, Any]]:
    if not LOG_PATH.exists():
        return []
    return [json.loads(line) for line in LOG_PATH.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
def test_tutorial_with_claude_code(case: Case, emulator: str, tmp_path: Path) -> None:
    LOG_PATH.unlink(missing_ok=True)
    _http("DELETE", emulator + "/_emulator/requests")
    with start_gateway(tmp_path) as gw:
        applied = _apply_tutorial(gw, case, emulator, tmp_path)
        if case.provider == "gemini":
            assert "max_tokens" in applied["apply_output"] and "options" in applied["apply_output"]
        claude_env = tutorials()[case.tutorial].claude_env
        base_url = claude_env["ANTHROPIC_BASE_URL"].replace("http://localhost:8000", gw.proxy_url)
        model = claude_env["ANTHROPIC_MODEL"]
        if model == "YOUR_GEMINI_MODEL":
            model = case.model
        home = make_home(tmp_path)
        work = tmp_path / "work"
        work.mkdir()
        runs = {}
        for bare in (True, False):
            plain = run_claude(
                home,
                base_url,
                model,
                "Tell me about the Madrid Skylitzes manuscript.",
                bare=bare,
                cwd=work,
            )
            assert plain.returncode == 0, plain.stderr[-3000:]
            assert plain.result.get("is_error") is False, plain.result
            assert "emulator" in plain.result["result"], plain.result
            tool = run_claude(home, base_url, model, TOOL_PROMPT, bare=bare, cwd=work)
            assert tool.returncode == 0, tool.stderr[-3000:]
            uses = tool.tool_uses()
            assert any(u["name"] == "Bash" and MARKER in u["input"]["command"] for u in uses), (
                tool.events
            )
            assert any(MARKER in r for r in tool.tool_results()), tool.events
            assert MARKER in tool.result["result"], tool.result
            runs[bare] = (plain, tool)
        time.sleep(0.5)  # log lines are written just after each response

    records = _http("GET", emulator + "/_emulator/requests")
    chat = [r for r in records if case.emulator_path in r["path"]]
    assert len(chat) >= 6, [
        r["path"] for r in records
    ]  # 2 plain + 2 tool round trips of 2 requests
    for rec in chat:
        headers = rec["headers"]
        name, value = case.credential
        assert headers.get(name, "").startswith(value), headers
        assert headers.get("x-api-key") in (
            None,
            case.credential[1] if name == "x-api-key" else None,
        )
        assert "Bearer x" != headers.get("authorization")
        body = rec["body"]
        if case.provider in ("huggingface", "dashscope", "openai"):
            assert body["model"] == case.model
            assert "messages" in body and "system" not in body and "thinking" not in body
        elif case.provider == "anthropic":
            assert body["model"] == case.model and "messages" in body
        else:
            assert "contents" in body and "messages" not in body
    sizes = sorted(len(json.dumps(r["body"])) for r in chat)
    assert sizes[-1] > 40_000, sizes  # the full default tool set went through

    records_log = _log_records()
    posts = [r for r in records_log if r["request"]["method"] == "POST"]
    assert len(posts) == len(chat), (len(posts), len(chat))
    _save_artifacts(case, chat, posts)
    raw_log = LOG_PATH.read_text()
    for secret in (
        "hf-emulated-token",
        "sk-ant-emulated",
        "sk-dashscope-emulated",
        "sk-openai-emulated",
        "PRIVATE KEY",
    ):
        assert secret not in raw_log
    for rec in posts:
        ai = rec["ai"]["proxy"]
        usage, meta = ai["usage"], ai["meta"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert meta["provider_name"] == case.provider
        assert meta["request_model"] == case.model
        assert meta["response_model"]
        assert meta["request_mode"] == "stream"
        assert rec["upstream_uri"]
        # No tutorial types in costs: list prices price every model but the Hub's.
        if case.provider == "huggingface":
            assert (usage["cost_source"], usage["cost"]) == ("unpriced", 0)
        else:
            assert usage["cost_source"] == "list_price" and usage["cost"] > 0, usage
        if case.provider == "gemini":
            tried = ai["tried_targets"]
            assert tried[0]["provider"] == "gemini" and tried[0]["model"] == case.model
            assert tried[0]["upstream_uri"].startswith(
                "/v1/projects/lockgate-e2e/locations/us-central1/"
            )
        if case.provider == "dashscope":
            assert rec["response"]["headers"]["x-kong-llm-model"] == "dashscope/qwen-plus"
        if case.provider in ("huggingface", "openai", "dashscope"):
            assert rec["upstream_uri"].endswith("?beta=true")
