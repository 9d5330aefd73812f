"""The real Claude Code CLI through lockgate to an emulated Gemini 3 model.

An agent turn of two tool steps: Gemini 3 refuses a request whose earlier
function calls come back without their thought signatures, so the turn
completes with the issued signatures only if they survive Claude Code's own
history handling (they travel in the tool_use ids the gateway mints). And a
context overflow, which Claude Code must recognise as one."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.claude import make_home, run_claude
from tests.support.processes import start_emulator, start_gateway

MODEL = "gemini-3-pro-preview"
KEY = "gemini-e2e-key"
PROMPT = (
    "[[chain]] "
    '[[tool Bash {"command":"echo step-one-ok","description":"first step"}]] '
    '[[tool Bash {"command":"echo step-two-ok","description":"second step"}]]'
)
SIGNED = "RW11R2VtaW5pU2ln"  # base64 of the emulator's "EmuGeminiSig" prefix


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def _config(emulator: str) -> str:
    plugin = {
        "name": "ai-proxy",
        "config": {
            "route_type": "llm/v1/chat",
            "llm_format": "anthropic",
            "auth": {"param_name": "key", "param_value": KEY, "param_location": "query"},
            "model": {"provider": "gemini", "name": MODEL, "options": {"upstream_url": emulator}},
        },
    }
    return yaml.safe_dump(
        {
            "_format_version": "3.0",
            "services": [
                {
                    "name": "gemini3",
                    "url": emulator,
                    "routes": [{"name": "gemini3", "paths": ["/anything"], "plugins": [plugin]}],
                }
            ],
        }
    )


def _requests(emulator: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator + "/_emulator/requests", timeout=10) as resp:
        records: list[dict[str, Any]] = json.loads(resp.read())
    return [r for r in records if f"/models/{MODEL}:" in r["path"]]


def test_two_step_tool_turn_on_gemini_3(emulator: str, tmp_path: Path) -> None:
    with start_gateway(tmp_path) as gw:
        applied = gw.apply(_config(emulator))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        home = make_home(tmp_path)
        work = tmp_path / "work"
        work.mkdir()
        run = run_claude(home, f"{gw.proxy_url}/anything", MODEL, PROMPT, bare=True, cwd=work)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.result.get("is_error") is False, run.result
    commands = [u["input"]["command"] for u in run.tool_uses() if u["name"] == "Bash"]
    assert commands == ["echo step-one-ok", "echo step-two-ok"], run.events
    results = run.tool_results()
    assert any("step-one-ok" in r for r in results) and any("step-two-ok" in r for r in results)
    assert "step-two-ok" in run.result["result"], run.result
    # The last request carried both steps' calls, each with the signature Gemini issued.
    last = _requests(emulator)[-1]["body"]
    signed = [
        next(p for p in c["parts"] if "functionCall" in p).get("thoughtSignature", "")
        for c in last["contents"]
        if c["role"] == "model" and any("functionCall" in p for p in c["parts"])
    ]
    assert len(signed) >= 2 and all(s.startswith(SIGNED) for s in signed[-2:]), signed


def test_context_overflow_is_recognised_by_claude_code(emulator: str, tmp_path: Path) -> None:
    """Gemini's overflow error reaches Claude Code as Anthropic's 'prompt is too
    long: N tokens > M maximum', which it reads (numbers included) as an
    overflow: the terminal reason is prompt_too_long, not a generic API error."""
    with start_gateway(tmp_path) as gw:
        applied = gw.apply(_config(emulator))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        home = make_home(tmp_path)
        work = tmp_path / "work"
        work.mkdir()
        run = run_claude(
            home,
            f"{gw.proxy_url}/anything",
            MODEL,
            "[[overflow 1500000]] hello",
            bare=True,
            cwd=work,
        )
    result = run.result
    assert result["is_error"] is True and result.get("api_error_status") == 400, result
    assert result.get("terminal_reason") == "prompt_too_long", result
    assert "1500000" in result["result"] and "1048576" in result["result"], result
