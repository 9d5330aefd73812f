"""The user's acceptance test: each tutorial of the README, run as a user
runs it (the README's own `echo '...' | lockgate gateway apply -` lines, in
order, through bash), with the real Claude Code CLI as the client and the
provider emulators standing in for the providers."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.claude import make_home, run_claude
from tests.support.processes import start_emulator, start_gateway
from tests.support.readme import tutorials
from tests.support.tutorial_run import (
    CASES,
    LOG_PATH,
    MARKER,
    TOOL_PROMPT,
    Case,
    apply_tutorial,
    http,
    log_records,
)

#: The README's tutorials log to /tmp/claude.json: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


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
            if "contents" not in body
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
    (out / f"{case.key}.json").write_text(json.dumps(summary, indent=2))


#: The tutorials whose client is Claude Code (Codex CLI's and Gemini CLI's have their own tests).
CLAUDE_CASES = [c for c in CASES if c.client == "claude"]


@pytest.mark.parametrize("case", CLAUDE_CASES, ids=[c.key for c in CLAUDE_CASES])
def test_tutorial_with_claude_code(case: Case, emulator: str, tmp_path: Path) -> None:
    LOG_PATH.unlink(missing_ok=True)
    http("DELETE", emulator + "/_emulator/requests")
    with start_gateway(tmp_path) as gw:
        applied = apply_tutorial(gw, case, emulator, tmp_path)
        if case.tutorial == "Gemini (Vertex AI)":
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

    records = http("GET", emulator + "/_emulator/requests")
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
        elif case.provider == "bedrock":
            assert "model" not in body and "messages" in body and "toolConfig" in body
            # Claude Code's interleaved-thinking beta reaches Claude in the body;
            # its first-party betas (which Bedrock refuses) do not.
            betas = body["additionalModelRequestFields"]["anthropic_beta"]
            assert (
                "interleaved-thinking-2025-05-14" in betas and "claude-code-20250219" not in betas
            )
        elif case.emulator == "anthropic":  # Claude on Vertex AI
            assert "model" not in body and "messages" in body
            assert next(iter(body)) == "anthropic_version"
            assert body["anthropic_version"] == "vertex-2023-10-16"
            assert "claude-code-20250219" not in headers.get("anthropic-beta", "")
        else:
            assert "contents" in body and "messages" not in body
    sizes = sorted(len(json.dumps(r["body"])) for r in chat)
    assert sizes[-1] > 40_000, sizes  # the full default tool set went through

    records_log = log_records()
    posts = [r for r in records_log if r["request"]["method"] == "POST"]
    assert len(posts) == len(chat), (len(posts), len(chat))
    _save_artifacts(case, chat, posts)
    raw_log = LOG_PATH.read_text()
    for secret in (
        "hf-emulated-token",
        "sk-ant-emulated",
        "sk-dashscope-emulated",
        "sk-openai-emulated",
        "lockgate-emulator-secret-access-key",
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
        if case.tutorial == "Gemini (Vertex AI)":
            tried = ai["tried_targets"]
            assert tried[0]["provider"] == "gemini" and tried[0]["model"] == case.model
            assert tried[0]["upstream_uri"].startswith(
                "/v1/projects/lockgate-e2e/locations/us-central1/"
            )
        if case.provider == "dashscope":
            assert rec["response"]["headers"]["x-kong-llm-model"] == "dashscope/qwen-plus"
        if case.provider in ("huggingface", "openai", "dashscope"):
            assert rec["upstream_uri"].endswith("?beta=true")
        if case.emulator == "anthropic" and case.provider == "gemini":
            assert rec["upstream_uri"] == case.emulator_path  # no ?beta=true at Vertex
