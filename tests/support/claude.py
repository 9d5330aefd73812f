"""Running the real Claude Code CLI against the gateway, headless."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.readme import ROOT

__all__ = ["ClaudeRun", "claude_binary", "make_home", "run_claude"]


def claude_binary() -> str:
    base = Path(os.environ.get("LOCKGATE_CLAUDE_DIR", ROOT / ".tools" / "claude-code"))
    for candidate in (
        base / "node_modules" / "@anthropic-ai" / "claude-code-linux-x64" / "claude",
        base / "node_modules" / "@anthropic-ai" / "claude-code-linux-arm64" / "claude",
        base / "node_modules" / "@anthropic-ai" / "claude-code-darwin-arm64" / "claude",
        base / "node_modules" / ".bin" / "claude",
    ):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("claude")
    if found:
        return found
    raise AssertionError(
        f"Claude Code CLI not found under {base}: run `make test` (it installs it)"
    )


def make_home(tmp: Path) -> Path:
    """A HOME set up as the tutorials say: settings.json with an apiKeyHelper printing a dummy key."""
    home = tmp / "home"
    claude_dir = home / ".claude"
    claude_dir.mkdir(parents=True, exist_ok=True)
    helper = claude_dir / "anthropic_key.sh"
    helper.write_text('#!/bin/sh\necho "x"\n')
    helper.chmod(0o755)
    (claude_dir / "settings.json").write_text(json.dumps({"apiKeyHelper": str(helper)}))
    (home / ".claude.json").write_text(
        json.dumps(
            {"hasCompletedOnboarding": True, "bypassPermissionsModeAccepted": True, "projects": {}}
        )
    )
    return home


@dataclass
class ClaudeRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        for event in reversed(self.events):
            if event.get("type") == "result":
                return event
        raise AssertionError(f"no result event; stderr: {self.stderr[-2000:]}")

    def tool_uses(self) -> list[dict[str, Any]]:
        out = []
        for event in self.events:
            if event.get("type") == "assistant":
                for block in event["message"].get("content", []):
                    if block.get("type") == "tool_use":
                        out.append(block)
        return out

    def tool_results(self) -> list[str]:
        out = []
        for event in self.events:
            if event.get("type") == "user":
                for block in event["message"].get("content", []):
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        content = block.get("content")
                        if isinstance(content, list):
                            content = " ".join(
                                c.get("text", "") for c in content if isinstance(c, dict)
                            )
                        out.append(str(content))
        return out


def run_claude(
    home: Path,
    base_url: str,
    model: str,
    prompt: str,
    *,
    bare: bool,
    cwd: Path,
    timeout: float = 180,
) -> ClaudeRun:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "IS_SANDBOX": "1",
    }
    args = [claude_binary()]
    if bare:
        args.append("--bare")
    args += [
        "-p",
        prompt,
        "--dangerously-skip-permissions",
        "--no-session-persistence",
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    if bare:
        args += [
            "--settings",
            json.dumps({"apiKeyHelper": str(home / ".claude" / "anthropic_key.sh")}),
        ]
    proc = subprocess.run(
        args,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    events = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return ClaudeRun(proc.returncode, events, proc.stderr)
