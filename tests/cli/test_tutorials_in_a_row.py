"""Tutorials in a row in one gateway (issue 15, part 2), through real
processes: without a reset the previous tutorial's plugin answers, and
apply says so; with ``lockgate gateway reset --force`` the next tutorial's
provider answers."""

from __future__ import annotations

import json
import pathlib
import urllib.request

from tests.cli.test_gateway_cli import TUTORIAL
from tests.support.processes import GatewayProcess, run_lockgate, start_emulator, start_gateway

GEMINI = """
_format_version: "3.0"
plugins:
- name: ai-proxy-advanced
  config:
    llm_format: anthropic
    targets:
    - route_type: llm/v1/chat
      auth: {param_name: key, param_location: query, param_value: AIza-emulated}
      model:
        provider: gemini
        name: gemini-2.0-flash
        options: {upstream_url: "EMULATOR"}
"""
DASHSCOPE = """
_format_version: "3.0"
plugins:
- name: ai-proxy
  config:
    llm_format: anthropic
    route_type: llm/v1/chat
    auth: {header_name: Authorization, header_value: Bearer sk-dashscope-emulated}
    model:
      provider: dashscope
      name: qwen-plus
      options: {upstream_url: "EMULATOR/dashscope/compatible-mode/v1/chat/completions"}
"""


def ask(gw: GatewayProcess, model: str) -> str:
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    req = urllib.request.Request(
        gw.proxy_url + "/anything/v1/messages",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "x-api-key": "x"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}: {exc.read().decode()}"
    return str(answer["content"][0]["text"])


def test_the_next_tutorial_after_a_reset(tmp_path: pathlib.Path) -> None:
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        assert gw.apply(TUTORIAL).returncode == 0
        assert gw.apply(GEMINI.replace("EMULATOR", emulator)).returncode == 0
        gw.wait_config()
        assert "gemini emulator" in ask(gw, "gemini-2.0-flash")

        # DashScope's tutorial on top of Gemini's: warned, and Gemini's plugin still answers
        stacked = gw.apply(DASHSCOPE.replace("EMULATOR", emulator))
        assert stacked.returncode == 0, stacked.stderr
        assert "served by two AI proxy plugins" in stacked.stderr
        gw.wait_config()
        # the symptom: Gemini's plugin answers DashScope's model name
        assert ask(gw, "qwen-plus") == (
            'HTTP 400: {"type":"error","error":{"type":"invalid_request_error",'
            '"message":"cannot use own model - must be: gemini-2.0-flash"}}'
        )

        reset = run_lockgate(["gateway", "reset", "--force", "--admin-url", gw.admin_url])
        assert reset.returncode == 0, reset.stderr
        assert "Deleted: 4" in reset.stdout
        assert gw.apply(TUTORIAL).returncode == 0
        fresh = gw.apply(DASHSCOPE.replace("EMULATOR", emulator))
        assert fresh.returncode == 0 and "two AI proxy plugins" not in fresh.stderr
        gw.wait_config()
        assert "dashscope emulator, model qwen-plus" in ask(gw, "qwen-plus")
