"""Claude Code, headless, through models whose limits are below what it asks
for: gpt-4o (16,384 output tokens), gemini-2.0-flash (8,192) and a Gemini 3
model (which also wants its thought signatures back after a tool call).

Each runs its tutorial from the README with the model swapped, a plain
question and a tool round trip; the emulators refuse what the real APIs
refuse, so an unclamped ``max_tokens`` or a dropped signature fails here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.claude import make_home, run_claude
from tests.support.processes import GatewayProcess, start_emulator, start_gateway
from tests.support.readme import tutorials
from tests.support.tutorial_run import CASES, MARKER, TOOL_PROMPT, Case, apply_tutorial, http

#: The README's tutorials log to /tmp/claude.json: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")


#: model -> (tutorial's provider, the most output tokens the provider may be asked
#: for: the model's limit, or the Gemini tutorial's own cap, model.options.max_tokens
#: 8192, where that is lower)
MODELS = {
    "gpt-4o": ("openai", 16_384),
    "gemini-2.0-flash": ("gemini", 8_192),
    "gemini-3-pro-preview": ("gemini", 8_192),  # the model takes 65,536
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def _use_model(gw: GatewayProcess, case: Case) -> None:
    plugin = next(p for p in gw.admin("GET", "/plugins")[1]["data"] if p["name"] == case.plugin)
    config = plugin["config"]
    if case.plugin == "ai-proxy":
        change: dict[str, Any] = {"model": {"name": case.model}}
    else:
        targets = config["targets"]
        for target in targets:
            target["model"]["name"] = case.model
        change = {"targets": targets}
    status, body = gw.admin("PATCH", f"/plugins/{plugin['id']}", {"config": change})
    assert status == 200, body
    gw.wait_config()


def _max_tokens(provider: str, body: dict[str, Any]) -> int | None:
    if provider == "gemini":
        value = (body.get("generationConfig") or {}).get("maxOutputTokens")
    else:
        value = body.get("max_completion_tokens", body.get("max_tokens"))
    return int(value) if value is not None else None


@pytest.mark.parametrize("model", list(MODELS))
def test_claude_code_within_model_limits(model: str, emulator: str, tmp_path: Path) -> None:
    provider, limit = MODELS[model]
    base = next(c for c in CASES if c.provider == provider)
    case = dataclasses.replace(
        base, model=model, emulator_path=base.emulator_path.replace(base.model, model)
    )
    http("DELETE", emulator + "/_emulator/requests")
    with start_gateway(tmp_path) as gw:
        apply_tutorial(gw, case, emulator, tmp_path)
        _use_model(gw, case)
        claude_env = tutorials()[case.tutorial].claude_env
        base_url = claude_env["ANTHROPIC_BASE_URL"].replace("http://localhost:8000", gw.proxy_url)
        home = make_home(tmp_path)
        work = tmp_path / "work"
        work.mkdir()
        plain = run_claude(
            home, base_url, model, "Tell me about the Madrid Skylitzes.", bare=True, cwd=work
        )
        assert plain.returncode == 0, plain.stderr[-3000:]
        assert plain.result.get("is_error") is False, plain.result
        assert "emulator" in plain.result["result"], plain.result
        tool = run_claude(home, base_url, model, TOOL_PROMPT, bare=True, cwd=work)
        assert tool.returncode == 0, tool.stderr[-3000:]
        assert tool.result.get("is_error") is False, tool.result
        assert any(MARKER in r for r in tool.tool_results()), tool.events
        assert MARKER in tool.result["result"], tool.result

    chat = [
        r for r in http("GET", emulator + "/_emulator/requests") if case.emulator_path in r["path"]
    ]
    assert len(chat) >= 3, [r["path"] for r in chat]  # a question, then a tool round trip
    asked = [_max_tokens(provider, r["body"]) for r in chat]
    assert all(n is not None and 0 < n <= limit for n in asked), asked
    assert max(n for n in asked if n is not None) == limit, asked  # clamped, not dropped
    if model.startswith("gemini-3"):
        # The turn after the tool call replays the model's functionCall with its signature.
        replayed = [
            part
            for r in chat
            for content in r["body"]["contents"]
            if content.get("role") == "model"
            for part in content.get("parts", [])
            if "functionCall" in part
        ]
        assert replayed, "no tool round trip reached the provider"
        assert all(part.get("thoughtSignature") for part in replayed), replayed
