"""The real Codex CLI (``codex exec``), headless and offline, straight to the
emulated OpenAI Responses API: a plain question and a shell-tool round trip
(the emulator scripts a call of Codex's shell tool, ``exec_command``; Codex
runs the command; the result comes back in the next request, where the
emulator quotes it). test_codex_gateway.py does the same through lockgate."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.codex import RefusingProxy, make_codex_home, run_codex
from tests.support.processes import start_emulator

MARKER = "lockgate-codex-ok"
TOOL_PROMPT = f'Run this: [[tool exec_command {{"cmd": "echo {MARKER}"}}]]'
#: Codex's freeform (``custom``) tool: the patch is the call's whole input.
PATCH_PROMPT = (
    'Patch: [[tool apply_patch {"input": "*** Begin Patch\\n*** Add File: made.txt\\n'
    '+made by codex\\n*** End Patch\\n"}]]'
)


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


def _check_round_trip(plain: Any, tool: Any, answered_by: str) -> None:
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert f"Hello from the {answered_by} emulator" in plain.answer, plain.events
    assert tool.returncode == 0, tool.stderr[-3000:]
    ran = [c for c in tool.commands if MARKER in c["command"]]
    assert ran and ran[0]["exit_code"] == 0 and MARKER in ran[0]["aggregated_output"], tool.events
    assert "Tool result:" in tool.answer and MARKER in tool.answer, tool.answer
    assert tool.usage["input_tokens"] > 0 and tool.usage["output_tokens"] > 0


def test_codex_straight_to_the_emulated_openai(emulator: str, tmp_path: Path) -> None:
    """What Codex sends is what the emulator accepts (tools of every kind it
    uses, replayed reasoning with encrypted content, store false)."""
    _clear(emulator)
    home = make_codex_home(tmp_path, emulator + "/v1", "gpt-5.5")
    work = tmp_path / "work"
    work.mkdir()
    with RefusingProxy() as proxy:
        plain = run_codex(home, "Say hello.", cwd=work, key="sk-straight", proxy=proxy.url)
        tool = run_codex(home, TOOL_PROMPT, cwd=work, key="sk-straight", proxy=proxy.url)
    _check_round_trip(plain, tool, "openai")
    assert proxy.seen == []  # the offline settings hold: nothing but the endpoint
    calls = [r for r in _requests(emulator) if r["path"] == "/v1/responses"]
    assert len(calls) == 3, [r["path"] for r in calls]  # plain; tool call; its result
    for call in calls:
        body = call["body"]
        assert call["headers"]["authorization"] == "Bearer sk-straight"
        assert body["stream"] is True and body["store"] is False
        assert body["include"] == ["reasoning.encrypted_content"]
        kinds = {t["type"] for t in body["tools"]}
        assert {"function", "custom"} <= kinds, kinds
    replay = [i["type"] for i in calls[-1]["body"]["input"][-3:]]
    assert replay == ["reasoning", "function_call", "function_call_output"], replay
    assert MARKER in calls[-1]["body"]["input"][-1]["output"]


def test_codex_applies_a_patch_from_the_emulator(emulator: str, tmp_path: Path) -> None:
    """The custom tool round trip: a custom_tool_call, Codex applies the patch,
    and replays the call (as issued) with its custom_tool_call_output."""
    _clear(emulator)
    home = make_codex_home(tmp_path, emulator + "/v1", "gpt-5.5")
    work = tmp_path / "work"
    work.mkdir()
    run = run_codex(home, PATCH_PROMPT, cwd=work)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "made.txt").read_text() == "made by codex\n"
    assert run.items("file_change"), run.events
    assert "Tool result:" in run.answer and "made.txt" in run.answer, run.answer
    last = [r for r in _requests(emulator) if r["path"] == "/v1/responses"][-1]["body"]
    replay = [i["type"] for i in last["input"][-2:]]
    assert replay == ["custom_tool_call", "custom_tool_call_output"], replay
