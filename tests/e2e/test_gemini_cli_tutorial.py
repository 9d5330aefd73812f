"""The README's "Route Gemini CLI through lockgate", run as a reader runs it:
its own `lockgate gateway apply -` lines through bash, its settings file, its
`gemini` command (headless here), against the Gemini emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.gemini_cli import (
    gemini_settings,
    make_gemini_home,
    run_gemini,
    tutorial_command,
)
from tests.support.processes import start_emulator, start_gateway
from tests.support.readme import tutorials
from tests.support.tutorial_run import CASES, apply_tutorial, http

#: The README's tutorials log to fixed paths: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")

NAME = "Route Gemini CLI through lockgate"
LOG = Path("/tmp/gemini-cli.json")
MARKER = "lockgate-gemini-tutorial-ok"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with start_emulator() as url:
        yield url


def test_tutorial_settings_are_the_tested_ones() -> None:
    """The settings file the README gives is the one the e2e tests use."""
    command = tutorial_command(tutorials()[NAME].text)
    assert command.settings == gemini_settings(command.model)
    assert command.base_url == "http://localhost:8000/anything"


def test_gemini_cli_tutorial(emulator: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.tutorial == NAME)
    command = tutorial_command(tutorials()[NAME].text)
    LOG.unlink(missing_ok=True)
    http("DELETE", emulator + "/_emulator/requests")
    with start_gateway(tmp_path) as gw:
        apply_tutorial(gw, case, emulator, tmp_path)
        home = make_gemini_home(tmp_path, command.model, command.settings)
        work = tmp_path / "work"
        work.mkdir()
        base_url = command.base_url.replace("http://localhost:8000", gw.proxy_url)
        plain = run_gemini(home, base_url, "Hello?", cwd=work, api_key=command.api_key)
        assert plain.returncode == 0, plain.stderr[-3000:]
        assert "Hello from the gemini emulator, model gemini-2.5-flash" in plain.text
        prompt = f'[[tool run_shell_command {{"command":"echo {MARKER}"}}]]'
        tool = run_gemini(home, base_url, prompt, cwd=work, api_key=command.api_key)
        assert tool.returncode == 0, tool.stderr[-3000:]
        assert [u["tool_name"] for u in tool.tool_uses()] == ["run_shell_command"], tool.events
        assert MARKER in tool.tool_results()[0]["output"]
        time.sleep(0.5)  # the log line is written just after the response

    calls: list[dict[str, Any]] = [
        r for r in http("GET", emulator + "/_emulator/requests") if r["path"] == case.emulator_path
    ]
    assert len(calls) == 3, calls
    for call in calls:
        # The gateway's key, as a query parameter; the CLI's dummy one nowhere.
        assert "key=gemini-emulated" in call["query"], call["query"]
        assert "x-goog-api-key" not in {k.lower() for k in call["headers"]}
        assert call["body"]["contents"]
    last = calls[-1]["body"]["contents"]
    responses = [p["functionResponse"] for c in last for p in c["parts"] if "functionResponse" in p]
    assert MARKER in json.dumps(responses), last

    raw = LOG.read_text()
    assert "gemini-emulated" not in raw
    records = [json.loads(line) for line in raw.splitlines() if line.strip()]
    posts = [r for r in records if r["request"]["method"] == "POST"]
    assert len(posts) == 3, posts
    for rec in posts:
        assert rec["request"]["uri"].startswith("/anything/v1beta/models/gemini-2.5-flash:")
        ai = rec["ai"]["proxy"]
        assert ai["meta"]["provider_name"] == "gemini"
        assert ai["meta"]["request_model"] == "gemini-2.5-flash"
        assert ai["usage"]["prompt_tokens"] > 0 and ai["usage"]["completion_tokens"] > 0
        assert ai["usage"]["cost_source"] == "list_price" and ai["usage"]["cost"] > 0
