"""The README's tutorials, copied in order into one gateway, as a reader with
the emulator would: reset where the README says so, the service and route,
the tutorial's own commands and its emulator steps, then Claude Code (Codex
CLI for its tutorial). Each must be answered by its own provider (a leftover
plugin from the previous tutorial would answer instead)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.support.claude import make_home, run_claude
from tests.support.codex import run_codex, tutorial_codex_home
from tests.support.gemini_cli import make_gemini_home, run_gemini, tutorial_command
from tests.support.processes import lockgate_cmd, start_emulator, start_gateway
from tests.support.readme import common_blocks, reset_block, tutorials
from tests.support.tutorial_run import CASES, http

#: The README's tutorials log to /tmp/claude.json: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")


#: What a reader exports in place of real keys (any value works with the emulator).
KEYS = {
    "DECK_HUGGINGFACE_API_TOKEN": "hf-test",
    "DECK_ANTHROPIC_API_KEY": "sk-ant-test",
    "DECK_DASHSCOPE_API_KEY": "sk-test",
    "DECK_OPENAI_API_KEY": "sk-test",
    "DECK_AWS_ACCESS_KEY_ID": "AKIALOCKGATEEMULATOR",
    "DECK_AWS_SECRET_ACCESS_KEY": "lockgate-emulator-secret-access-key",
    "DECK_GEMINI_API_KEY": "gemini-test",  # the Vertex tutorials put their service account here
}


def test_readme_tutorials_in_a_row(tmp_path: Path) -> None:
    providers = {c.tutorial: c.emulator for c in CASES}
    clients = {c.tutorial: c.client for c in CASES}
    assert list(tutorials()) == [c.tutorial for c in CASES]
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        admin = gw.admin_url.removeprefix("http://")
        emulator_addr = emulator.removeprefix("http://")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DECK_", "LOCKGATE_"))}
        env |= KEYS | {"LOCKGATE_ADMIN_URL": gw.admin_url}
        env["PATH"] = str(Path(lockgate_cmd()[0]).parent) + os.pathsep + env.get("PATH", "")
        home = make_home(tmp_path)
        for name, tutorial in tutorials().items():
            script = "\n".join(
                ["set -euo pipefail", reset_block(), *common_blocks(), *tutorial.setup_blocks]
            )
            script = (
                script.replace("localhost:8001", admin)
                .replace("127.0.0.1:9100", emulator_addr)
                .replace("localhost:9100", emulator_addr)
            )
            done = subprocess.run(
                ["bash", "-c", script],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, f"{name}\n{done.stdout}\n{done.stderr}"
            gw.wait_config()
            ai_plugins = [
                p["name"]
                for p in gw.admin("GET", "/plugins")[1]["data"]
                if p["name"].startswith("ai-proxy")
            ]
            assert len(ai_plugins) == 1, (name, ai_plugins)
            work = tmp_path / f"work-{len(list(tmp_path.glob('work-*')))}"
            work.mkdir()
            http("DELETE", emulator + "/_emulator/requests")
            if clients[name] == "codex":
                codex_home = tutorial_codex_home(tutorial, gw.proxy_url, work)
                codex = run_codex(codex_home, "Say hello.", cwd=work)
                assert codex.returncode == 0, (name, codex.stderr[-3000:])
                assert f"Hello from the {providers[name]} emulator" in codex.answer, name
                continue
            if clients[name] == "gemini-cli":
                command = tutorial_command(tutorial.text)
                gemini = run_gemini(
                    make_gemini_home(work, command.model, command.settings),
                    command.base_url.replace("http://localhost:8000", gw.proxy_url),
                    "Say hello.",
                    cwd=work,
                    api_key=command.api_key,
                )
                assert gemini.returncode == 0, (name, gemini.stderr[-3000:])
                assert f"Hello from the {providers[name]} emulator" in gemini.text, (
                    name,
                    gemini.text,
                )
                continue
            claude_env = tutorial.claude_env
            base_url = claude_env["ANTHROPIC_BASE_URL"].replace(
                "http://localhost:8000", gw.proxy_url
            )
            model = claude_env["ANTHROPIC_MODEL"]
            run = run_claude(home, base_url, model, "Say hello.", bare=True, cwd=work)
            assert run.returncode == 0, (name, run.stderr[-3000:])
            assert run.result.get("is_error") is False, (name, run.result)
            assert f"Hello from the {providers[name]} emulator" in run.result["result"], (
                name,
                run.result["result"],
            )
