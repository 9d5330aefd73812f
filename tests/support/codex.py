"""Running the real Codex CLI (``codex exec``) against the gateway, headless
and offline (docs/clients/codex.md says why each setting is there)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socketserver
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.readme import ROOT, Tutorial

__all__ = [
    "KEY_ENV",
    "CodexRun",
    "RefusingProxy",
    "add_model_catalog",
    "codex_binary",
    "codex_config",
    "make_codex_home",
    "run_codex",
    "tutorial_codex_home",
]

#: The variable the custom provider's ``env_key`` names: Codex sends its value
#: as the bearer token (the gateway replaces it with the real credential).
KEY_ENV = "LOCKGATE_API_KEY"


def codex_binary() -> str:
    base = Path(os.environ.get("LOCKGATE_CODEX_DIR", ROOT / ".tools" / "codex"))
    modules = base / "node_modules" / "@openai"
    for candidate in sorted(modules.glob("codex-*/vendor/*/bin/codex")):
        return str(candidate)
    wrapper = base / "node_modules" / ".bin" / "codex"
    if wrapper.exists():
        return str(wrapper)
    found = shutil.which("codex")
    if found:
        return found
    raise AssertionError(f"Codex CLI not found under {base}: run `make test` (it installs it)")


def codex_config(base_url: str, model: str) -> str:
    """The config.toml of the tutorial: lockgate as a custom model provider
    speaking the Responses API, and nothing that reaches the internet."""
    return f"""\
model = "{model}"
model_provider = "lockgate"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false
web_search = "disabled"

[model_providers.lockgate]
name = "lockgate"
base_url = "{base_url}"
env_key = "{KEY_ENV}"
wire_api = "responses"

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
"""


def make_codex_home(tmp: Path, base_url: str, model: str, like: str | None = None) -> Path:
    """``like``: a model Codex knows whose metadata ``model`` borrows (see
    :func:`add_model_catalog`)."""
    home = tmp / "codex-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(codex_config(base_url, model))
    if like is not None:
        add_model_catalog(home, model, like)
    return home


def add_model_catalog(codex_home: Path, model: str, like: str) -> Path:
    """Gives Codex metadata for a model it does not know (any non-OpenAI one):
    a model catalog (``model_catalog_json``) whose one entry is the bundled
    entry of ``like`` under ``model``'s name. Without it Codex falls back to
    default metadata, which leaves out its apply_patch tool."""
    bundled = subprocess.run(
        [codex_binary(), "debug", "models", "--bundled"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CODEX_HOME": str(codex_home)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    entry = next(m for m in json.loads(bundled.stdout)["models"] if m["slug"] == like)
    entry = {**entry, "slug": model, "display_name": model}
    catalog = codex_home / "model-catalog.json"
    catalog.write_text(json.dumps({"models": [entry]}))
    config = codex_home / "config.toml"
    head = f"model_catalog_json = {json.dumps(str(catalog))}\n"
    config.write_text(head + config.read_text())
    return catalog


def tutorial_codex_home(tutorial: Tutorial, proxy_url: str, tmp: Path) -> Path:
    """A CODEX_HOME with the config.toml the tutorial writes (its here-document),
    pointed at ``proxy_url`` instead of localhost:8000."""
    match = re.search(r"<<'TOML'\n(.*?)\nTOML\n", tutorial.text, re.S)
    assert match, f"no config.toml in the {tutorial.name} tutorial"
    home = tmp / "codex-home"
    home.mkdir(parents=True, exist_ok=True)
    config = match.group(1).replace("http://localhost:8000", proxy_url) + "\n"
    (home / "config.toml").write_text(config)
    return home


@dataclass
class CodexRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [
            e["item"]
            for e in self.events
            if e.get("type") == "item.completed" and e["item"].get("type") == kind
        ]

    @property
    def answer(self) -> str:
        messages = self.items("agent_message")
        if not messages:
            raise AssertionError(f"no agent message; stderr: {self.stderr[-3000:]}")
        return str(messages[-1]["text"])

    @property
    def commands(self) -> list[dict[str, Any]]:
        return self.items("command_execution")

    @property
    def usage(self) -> dict[str, Any]:
        for event in reversed(self.events):
            if event.get("type") == "turn.completed":
                return dict(event["usage"])
        raise AssertionError(f"no turn.completed; stderr: {self.stderr[-3000:]}")


def run_codex(
    codex_home: Path,
    prompt: str,
    *,
    cwd: Path,
    key: str = "x",
    proxy: str | None = None,
    timeout: float = 180,
) -> CodexRun:
    """``codex exec --json``: one turn, its events as JSON lines on stdout.
    ``proxy``: an HTTP proxy URL for every host but the loopback one (a test
    watches it to prove that Codex reaches nothing else)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(codex_home.parent),
        "CODEX_HOME": str(codex_home),
        KEY_ENV: key,
    }
    if proxy:
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
            env[name] = proxy
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    args = [
        codex_binary(),
        "exec",
        "--json",
        "--strict-config",
        "--skip-git-repo-check",
        "--ephemeral",
        prompt,
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
    return CodexRun(proc.returncode, events, proc.stderr)


@dataclass
class RefusingProxy:
    """An HTTP proxy on loopback that refuses every request and remembers its
    first line (``CONNECT host:443 HTTP/1.1``): what a client tried to reach."""

    seen: list[str] = field(default_factory=list)
    server: socketserver.ThreadingTCPServer | None = None

    def __enter__(self) -> RefusingProxy:
        seen = self.seen

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                seen.append(self.rfile.readline().decode("latin-1").strip())
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
