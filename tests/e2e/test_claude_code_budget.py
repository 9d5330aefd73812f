"""The real Claude Code CLI, headless, with a developer's own key (printed by
its apiKeyHelper) whose team budget is spent: it stops with the gateway's
message, and the provider is never called."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.claude import make_home, run_claude
from tests.support.processes import start_emulator, start_gateway

MODEL = "claude-sonnet-4-6"

CONFIG = """
_format_version: "3.0"
services:
  - name: claude
    url: http://127.0.0.1:9/unused
    routes:
      - name: claude
        paths: ["/anything"]
        plugins:
          - name: key-auth
            config: {{key_names: [x-api-key]}}
          - name: ai-proxy
            config:
              llm_format: anthropic
              route_type: llm/v1/chat
              auth: {{header_name: x-api-key, header_value: sk-ant-secret}}
              model:
                provider: anthropic
                name: {model}
                options:
                  upstream_url: {emulator}/anthropic/v1/messages
                  anthropic_version: "2023-06-01"
                  input_cost: 3.0
                  output_cost: 15.0
consumer_groups:
  - name: platform-team
    plugins:
      - name: ai-rate-limiting-advanced
        config:
          identifier: consumer-group
          llm_format: anthropic
          tokens_count_strategy: cost
          window_type: fixed
          llm_providers:
            - {{name: anthropic, limit: [0.0002], window_size: [2592000]}}
consumers:
  - username: dana
    groups: [{{name: platform-team}}]
    keyauth_credentials: [{{key: dana-key-7f3a}}]
"""


def _calls(emulator: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator + "/_emulator/requests", timeout=10) as resp:
        records: list[dict[str, Any]] = json.loads(resp.read())
    return [r for r in records if r["path"].endswith("/v1/messages")]


def _spend(proxy_url: str) -> int:
    body = {"model": MODEL, "max_tokens": 30, "messages": [{"role": "user", "content": "hi"}]}
    request = urllib.request.Request(
        proxy_url + "/anything/v1/messages",
        data=json.dumps(body).encode(),
        headers={"x-api-key": "dana-key-7f3a", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return int(resp.status)


def test_claude_code_stops_with_the_gateways_message_when_the_budget_is_spent(
    tmp_path: Path,
) -> None:
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        applied = gw.apply(CONFIG.format(model=MODEL, emulator=emulator))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        gw.wait_config()
        # One small call spends the team's $0.0002 (about 35 tokens at $3 and $15 a million).
        assert _spend(gw.proxy_url) == 200
        before = len(_calls(emulator))

        home = make_home(tmp_path)
        helper = home / ".claude" / "anthropic_key.sh"
        helper.write_text('#!/bin/sh\necho "dana-key-7f3a"\n')
        work = tmp_path / "work"
        work.mkdir()
        run = run_claude(home, f"{gw.proxy_url}/anything", MODEL, "Say hello", bare=True, cwd=work)
        assert run.returncode != 0
        result = run.result
        assert result["is_error"] is True and result["api_error_status"] == 429
        # What the developer reads (Claude Code does not retry a wait of days).
        assert result["result"].endswith("AI token rate limit exceeded for provider(s): anthropic")
        text = json.dumps(result) + run.stderr
        assert len(_calls(emulator)) == before
        assert "sk-ant-secret" not in text
