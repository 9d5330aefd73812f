"""The README's tutorial "Route Codex CLI through lockgate", run as a user
runs it: its own apply commands through bash, the config.toml it writes, and
the real Codex CLI, with the emulated OpenAI in place of OpenAI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.codex import run_codex, tutorial_codex_home
from tests.support.processes import start_emulator, start_gateway
from tests.support.readme import tutorials
from tests.support.tutorial_run import CASES, LOG_PATH, Case, apply_tutorial, http, log_records

#: The README's tutorials log to /tmp/claude.json: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")

CODEX_CASES = [c for c in CASES if c.client == "codex"]
MARKER = "lockgate-codex-tutorial-ok"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


@pytest.mark.parametrize("case", CODEX_CASES, ids=[c.key for c in CODEX_CASES])
def test_tutorial_with_codex(case: Case, emulator: str, tmp_path: Path) -> None:
    tutorial = tutorials()[case.tutorial]
    assert "LOCKGATE_API_KEY=x codex exec --skip-git-repo-check" in tutorial.text
    LOG_PATH.unlink(missing_ok=True)
    http("DELETE", emulator + "/_emulator/requests")
    with start_gateway(tmp_path) as gw:
        apply_tutorial(gw, case, emulator, tmp_path)
        work = tmp_path / "work"
        work.mkdir()
        home = tutorial_codex_home(tutorial, gw.proxy_url, tmp_path)
        plain = run_codex(home, "Say hello.", cwd=work)
        prompt = f'Run this: [[tool exec_command {{"cmd": "echo {MARKER} > done.txt"}}]]'
        tool = run_codex(home, prompt, cwd=work)
        time.sleep(0.5)  # log lines are written just after each response
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert f"Hello from the {case.emulator} emulator, model {case.model}" in plain.answer
    assert tool.returncode == 0, tool.stderr[-3000:]
    # The sandbox the tutorial chose (workspace-write) let the command write here.
    assert (work / "done.txt").read_text().strip() == MARKER
    assert "Process exited with code 0" in tool.answer, tool.answer

    records = http("GET", emulator + "/_emulator/requests")
    calls = [r for r in records if r["path"] == case.emulator_path]
    assert len(calls) == 3, [r["path"] for r in records]  # plain; the call; its result
    name, value = case.credential
    for call in calls:
        assert call["headers"][name] == value  # the gateway's key, not Codex's "x"
        assert call["body"]["model"] == case.model and call["body"]["store"] is False
    assert calls[-1]["body"]["input"][-1]["type"] == "function_call_output"

    log = [r for r in log_records() if r["request"]["method"] == "POST"]
    assert len(log) == 3
    assert "sk-openai-emulated" not in LOG_PATH.read_text()
    for record in log:
        assert record["request"]["uri"] == "/anything/responses"
        proxy = record["ai"]["proxy"]
        assert proxy["meta"]["provider_name"] == case.provider
        assert proxy["meta"]["request_model"] == case.model
        assert proxy["meta"]["request_mode"] == "stream"
        usage = proxy["usage"]
        assert usage["completion_tokens_details"]["reasoning_tokens"] > 0
        assert usage["cost_source"] == "list_price" and usage["cost"] > 0
