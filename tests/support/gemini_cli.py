"""Running the real Gemini CLI against the gateway, headless (`gemini -p`).

What it needs to stay offline and run unattended is in docs/clients/gemini-cli.md;
:func:`make_gemini_home` writes exactly the settings file that page gives."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.readme import ROOT

__all__ = [
    "GeminiRun",
    "TutorialCommand",
    "gemini_binary",
    "gemini_settings",
    "make_gemini_home",
    "run_gemini",
    "tutorial_command",
]


def gemini_binary() -> str:
    base = Path(os.environ.get("LOCKGATE_GEMINI_CLI_DIR", ROOT / ".tools" / "gemini-cli"))
    candidate = base / "node_modules" / ".bin" / "gemini"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("gemini")
    if found:
        return found
    raise AssertionError(f"Gemini CLI not found under {base}: run `make test` (it installs it)")


def gemini_settings(model: str) -> dict[str, Any]:
    """~/.gemini/settings.json for a headless CLI that talks to the gateway only."""
    return {
        # Headless mode does not pick an auth type from the environment: without
        # this it exits with "Invalid auth method selected." (exit code 41).
        "security": {
            "auth": {"selectedType": "gemini-api-key"},
            # Else an untrusted folder turns --yolo back into "default" approval
            # and headless mode exits 55 ("not running in a trusted directory").
            "folderTrust": {"enabled": False},
        },
        # Usage statistics go to play.googleapis.com (Clearcut) unless switched off.
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        "ide": {"enabled": False},
        # A fixed model: the default ("auto") first asks a flash-lite model to
        # rate the prompt's complexity, a second call per turn.
        "model": {"name": model},
    }


def make_gemini_home(tmp: Path, model: str, settings: dict[str, Any] | None = None) -> Path:
    """A HOME whose ~/.gemini/settings.json is ``settings`` (default: :func:`gemini_settings`)."""
    home = tmp / "gemini-home"
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    chosen = settings if settings is not None else gemini_settings(model)
    (home / ".gemini" / "settings.json").write_text(json.dumps(chosen, indent=2))
    return home


@dataclass
class TutorialCommand:
    """What a README tutorial tells a Gemini CLI user to set."""

    base_url: str
    api_key: str
    settings: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.settings["model"]["name"])


def tutorial_command(text: str) -> TutorialCommand:
    """The settings file and the environment of the ``gemini`` command in a tutorial's text."""
    heredoc = re.search(r"settings\.json <<'JSON'\n(.*?)\nJSON\n", text, re.S)
    command = re.search(r"GOOGLE_GEMINI_BASE_URL=(\S+) \\\nGEMINI_API_KEY=(\S+) \\\ngemini", text)
    if heredoc is None or command is None:
        raise AssertionError("no Gemini CLI settings file or command in this tutorial")
    return TutorialCommand(command.group(1), command.group(2), json.loads(heredoc.group(1)))


@dataclass
class GeminiRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        for event in reversed(self.events):
            if event.get("type") == "result":
                return event
        raise AssertionError(f"no result event; stderr: {self.stderr[-3000:]}")

    @property
    def text(self) -> str:
        """The assistant's answer, its streamed pieces joined."""
        return "".join(
            str(e.get("content", ""))
            for e in self.events
            if e.get("type") == "message" and e.get("role") == "assistant"
        )

    def tool_uses(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "tool_use"]

    def tool_results(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "tool_result"]


def run_gemini(
    home: Path,
    base_url: str,
    prompt: str,
    *,
    cwd: Path,
    api_key: str = "x",
    model: str | None = None,
    wrapper: tuple[str, ...] = (),
    timeout: float = 180,
) -> GeminiRun:
    """``gemini --yolo -p PROMPT --output-format stream-json``, with nothing of
    this machine's environment but PATH (no real key or Google setting leaks in);
    ``wrapper`` is a command that runs it (e.g. ``strace ...``)."""
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        # The CLI writes its error reports to the temporary directory.
        "TMPDIR": str(tmp),
        "GOOGLE_GEMINI_BASE_URL": base_url,
        "GEMINI_API_KEY": api_key,
    }
    args = [*wrapper, gemini_binary(), "--yolo", "-p", prompt, "--output-format", "stream-json"]
    if model:
        args += ["-m", model]
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
    return GeminiRun(proc.returncode, events, proc.stderr)
