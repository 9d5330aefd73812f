"""Claude Code in interactive mode (no -p), driven through tmux: the
tutorial's settings, one question, the answer on screen."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.claude import claude_binary, make_home
from tests.support.processes import start_emulator, start_gateway

#: The README's tutorials log to /tmp/claude.json: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=False, timeout=20
    ).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-J", "-t", session)


def _wait_for(session: str, predicate, timeout: float) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen(session)
        if predicate(screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"timed out; screen was:\n{screen}")


def test_interactive_session_answers(tmp_path: Path) -> None:
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        config = f"""
_format_version: "3.0"
services:
  - name: example-service
    url: http://httpbin.konghq.com/anything
routes:
  - name: example-route
    paths: ["/anything"]
    service:
      name: example-service
plugins:
  - name: ai-proxy
    config:
      llm_format: anthropic
      route_type: llm/v1/chat
      auth:
        header_name: Authorization
        header_value: Bearer sk-openai-emulated
      model:
        provider: openai
        name: gpt-5-mini
        options:
          upstream_url: {emulator}/openai/v1/chat/completions
      max_request_body_size: 524288
"""
        assert gw.apply(config).returncode == 0
        gw.wait_config()
        home = make_home(tmp_path)
        work = tmp_path / "work"
        work.mkdir()
        state = json.loads((home / ".claude.json").read_text())
        state["projects"] = {
            str(work): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
        }
        (home / ".claude.json").write_text(json.dumps(state))
        env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TERM": "xterm-256color",
            "ANTHROPIC_BASE_URL": gw.proxy_url + "/anything",
            "ANTHROPIC_MODEL": "gpt-5-mini",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "IS_SANDBOX": "1",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        session = f"lockgate-{os.getpid()}"
        _tmux(
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "50",
            "-c",
            str(work),
            f"env -i {exports} {shlex.quote(claude_binary())}",
        )
        try:
            ready = lambda s: "for shortcuts" in s  # noqa: E731
            screen = _wait_for(
                session,
                lambda s: ready(s) or "trust" in s.lower() or "yes, continue" in s.lower(),
                60,
            )
            if not ready(screen):
                # The tutorial's permission prompt: "1. Yes, continue" is preselected.
                _tmux("send-keys", "-t", session, "Enter")
                _wait_for(session, ready, 60)
            question = "Tell me about Procopius' Secret History."
            # Keys typed while the UI is still starting can be dropped: type until they show.
            deadline = time.monotonic() + 30
            while question not in _screen(session) and time.monotonic() < deadline:
                _tmux("send-keys", "-t", session, "-l", question)
                time.sleep(1.0)
            _tmux("send-keys", "-t", session, "Enter")
            screen = _wait_for(session, lambda s: "emulator" in s, 90)
            assert "gpt-5-mini" in screen
        finally:
            _tmux("kill-session", "-t", session)
