"""Running a README tutorial as a user does, against the emulators: the
pieces the end-to-end tests share."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import GatewayProcess, lockgate_cmd
from tests.support.readme import common_blocks, tutorials

__all__ = [
    "CASES",
    "LOG_PATH",
    "MARKER",
    "TOOL_PROMPT",
    "Case",
    "apply_tutorial",
    "http",
    "log_records",
]

LOG_PATH = Path("/tmp/claude.json")
TOOL_PROMPT = (
    'Run this: [[tool Bash {"command":"echo lockgate-e2e-ok","description":"print a marker"}]]'
)
MARKER = "lockgate-e2e-ok"


@dataclass
class Case:
    tutorial: str
    provider: str
    model: str
    emulator_path: str  # the part of the upstream path the emulator must have seen
    credential: tuple[str, str]
    upstream_url: str | None
    plugin: str = "ai-proxy"
    env: dict[str, str] = field(default_factory=dict)
    #: The emulator that answers (its name is in its replies), when not ``provider``'s.
    answered_by: str = ""
    #: The coding CLI the tutorial runs: ``claude`` (Claude Code), ``codex`` or ``gemini-cli``.
    client: str = "claude"

    @property
    def emulator(self) -> str:
        return self.answered_by or self.provider

    @property
    def key(self) -> str:
        """A name for test ids and files: the provider, and the emulator when another's."""
        return f"{self.provider}-{self.answered_by}" if self.answered_by else self.provider


CASES = [
    Case(
        "HuggingFace",
        "huggingface",
        "meta-llama/Llama-3.3-70B-Instruct",
        "/huggingface/v1/chat/completions",
        ("authorization", "Bearer hf-emulated-token"),
        "/huggingface/v1/chat/completions",
        env={"DECK_HUGGINGFACE_API_TOKEN": "hf-emulated-token"},
    ),
    Case(
        "Anthropic",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "/anthropic/v1/messages",
        ("x-api-key", "sk-ant-emulated"),
        "/anthropic/v1/messages",
        env={"DECK_ANTHROPIC_API_KEY": "sk-ant-emulated"},
    ),
    Case(
        "DashScope (Qwen)",
        "dashscope",
        "qwen-plus",
        "/dashscope/compatible-mode/v1/chat/completions",
        ("authorization", "Bearer sk-dashscope-emulated"),
        "/dashscope/compatible-mode/v1/chat/completions",
        env={"DECK_DASHSCOPE_API_KEY": "sk-dashscope-emulated"},
    ),
    Case(
        "Gemini (Vertex AI)",
        "gemini",
        "gemini-2.0-flash",
        "/v1/projects/lockgate-e2e/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent",
        ("authorization", "Bearer "),
        None,
        plugin="ai-proxy-advanced",
        env={"DECK_GCP_PROJECT_ID": "lockgate-e2e", "DECK_GEMINI_LOCATION_ID": "us-central1"},
    ),
    Case(
        "OpenAI",
        "openai",
        "gpt-5-mini",
        "/openai/v1/chat/completions",
        ("authorization", "Bearer sk-openai-emulated"),
        "/openai/v1/chat/completions",
        env={"DECK_OPENAI_API_KEY": "sk-openai-emulated"},
    ),
    Case(
        "Route Claude Code through lockgate to Claude on Bedrock",
        "bedrock",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "/bedrock/model/",
        ("authorization", "AWS4-HMAC-SHA256 Credential=AKIALOCKGATEEMULATOR/"),
        "/bedrock",
        env={
            "DECK_AWS_ACCESS_KEY_ID": "AKIALOCKGATEEMULATOR",
            "DECK_AWS_SECRET_ACCESS_KEY": "lockgate-emulator-secret-access-key",
        },
    ),
    Case(
        "Route Claude Code through lockgate to Claude on Vertex AI",
        "gemini",
        "claude-sonnet-4-5@20250929",
        "/v1/projects/lockgate-e2e/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
        ("authorization", "Bearer "),
        None,
        env={"DECK_GCP_PROJECT_ID": "lockgate-e2e", "DECK_GEMINI_LOCATION_ID": "us-east5"},
        answered_by="anthropic",
    ),
    Case(
        "Route Codex CLI through lockgate",
        "openai",
        "gpt-5.5",
        "/openai/v1/responses",
        ("authorization", "Bearer sk-openai-emulated"),
        "/openai/v1/responses",
        env={"DECK_OPENAI_API_KEY": "sk-openai-emulated"},
        client="codex",
    ),
    Case(
        "Route Gemini CLI through lockgate",
        "gemini",
        "gemini-2.5-flash",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        ("key", "gemini-emulated"),  # a query parameter, as Kong's Gemini tutorial has it
        "/",
        env={"DECK_GEMINI_API_KEY": "gemini-emulated"},
        client="gemini-cli",
    ),
]


def http(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def apply_tutorial(gw: GatewayProcess, case: Case, emulator: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DECK_", "LOCKGATE_"))}
    env.update(case.env)
    env["LOCKGATE_ADMIN_URL"] = gw.admin_url
    env["PATH"] = str(Path(lockgate_cmd()[0]).parent) + os.pathsep + env.get("PATH", "")
    # Vertex AI tutorials take a service account; a tutorial with its own key does not.
    vertex = case.provider == "gemini" and "DECK_GEMINI_API_KEY" not in case.env
    if vertex:
        account = http("POST", emulator + "/_emulator/service-account", {})
        (tmp / "sa.json").write_text(json.dumps(account))
        env["DECK_GEMINI_API_ENDPOINT"] = emulator
    tutorial = tutorials()[case.tutorial]
    blocks = common_blocks() + tutorial.apply_blocks
    assert len(blocks) >= 3
    outputs = []
    for block in blocks:
        script = block
        if vertex:
            script = f'export DECK_GEMINI_API_KEY="$(cat {tmp / "sa.json"})"\n' + block
        result = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout + result.stderr)
    if case.upstream_url:
        plugins = gw.admin("GET", "/plugins")[1]["data"]
        plugin_id = next(p["id"] for p in plugins if p["name"] == case.plugin)
        status, _ = gw.admin(
            "PATCH",
            f"/plugins/{plugin_id}",
            {"config": {"model": {"options": {"upstream_url": emulator + case.upstream_url}}}},
        )
        assert status == 200
    gw.wait_config()
    return {"apply_output": "\n".join(outputs)}


def log_records() -> list[dict[str, Any]]:
    if not LOG_PATH.exists():
        return []
    return [json.loads(line) for line in LOG_PATH.read_text().splitlines() if line.strip()]
