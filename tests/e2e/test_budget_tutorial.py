"""The README's "A key and a budget per developer", run as written on top of
the Anthropic tutorial (gateway, emulator): each developer's key works, the
answers carry the limits, and the budgets are visible on the command line and
in the Admin API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.support.processes import lockgate_cmd, run_lockgate, start_emulator, start_gateway
from tests.support.readme import ROOT
from tests.support.tutorial_run import CASES, apply_tutorial

#: The README's tutorials log to /tmp/claude.json: one such test at a time.
pytestmark = pytest.mark.usefixtures("tutorial_log")

_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## A key and a budget per developer")
    return text[start : text.index("\n## ", start + 5)]


def _call(proxy_url: str, key: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = urllib.request.Request(
        proxy_url + "/anything/v1/messages",
        data=json.dumps(body).encode(),
        headers={"x-api-key": key, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_budget_tutorial_as_written(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.tutorial == "Anthropic")
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        apply_tutorial(gw, case, emulator, tmp_path)
        assert _call(gw.proxy_url, "x")[0] == 200  # the tutorial alone: anyone may call
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DECK_", "LOCKGATE_"))}
        env["LOCKGATE_ADMIN_URL"] = gw.admin_url
        env["PATH"] = str(Path(lockgate_cmd()[0]).parent) + os.pathsep + env.get("PATH", "")
        blocks = [b for b in _BLOCK.findall(_section()) if "| lockgate gateway apply -" in b]
        assert len(blocks) == 2
        for block in blocks:
            done = subprocess.run(
                ["bash", "-c", block], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stdout + done.stderr
        gw.wait_config()

        status, _, body = _call(gw.proxy_url, "x")
        assert status == 401, body
        status, headers, body = _call(gw.proxy_url, "dana-0c41f3b7e2")
        assert status == 200, body
        assert headers["x-ai-ratelimit-limit-2592000-anthropic"] == "50"
        assert float(headers["x-ai-ratelimit-remaining-2592000-anthropic"]) < 50
        assert "x-ai-ratelimit-limit-60-anthropic" not in headers  # the team's plugin ran
        status, headers, body = _call(gw.proxy_url, "lee-9a27d5e1c8")
        assert status == 200, body
        assert headers["x-ai-ratelimit-limit-2592000-anthropic"] == "10"
        assert headers["x-ai-ratelimit-limit-60-anthropic"] == "0.5"

        shown = run_lockgate(["usage", "--consumer", "dana", "--admin-url", gw.admin_url])
        assert shown.returncode == 0, shown.stderr
        budget = shown.stdout.split("Limits and budgets of consumer dana\n", 1)[1]
        assert [r.split()[:6] for r in budget.splitlines()[2:]] == [
            ["group", "platform-team", "anthropic", "30d", "cost", "$50.0000"]
        ]
        status, team = gw.admin("GET", "/consumer_groups/platform-team/ai-usage")
        assert status == 200
        [line] = team["data"]
        assert line["limit"] == 50 and 0 < line["used"] < 0.01
