"""Screenshots of the dashboard after traffic on each README tutorial,
against the emulators: ``.venv/bin/python docs/dashboard/make_screenshots.py``
writes ``docs/dashboard/<provider>.png`` (and ``phone.png``).

Each tutorial is applied as the end-to-end tests apply it
(``tests/support/tutorial_run.py``); then a few Claude-Code-shaped
requests (streamed and not, with a session id) go through its route, and a
headless Chromium (Playwright; Debian's chromium when installed) takes the
page once the ledger holds them.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.support.processes import start_emulator, start_gateway  # noqa: E402
from tests.support.readme import tutorials  # noqa: E402
from tests.support.tutorial_run import CASES, apply_tutorial  # noqa: E402

OUT = Path(__file__).resolve().parent
PROMPTS = [
    "Summarise the Madrid Skylitzes manuscript in two sentences.",
    "Write a haiku about a gateway.",
    "List three uses of a usage ledger.",
    "What is a time to first token?",
    "Explain p95 latency to a new engineer.",
    "Name two Byzantine chronicles.",
]


def ask(base_url: str, model: str, prompt: str, stream: bool) -> int:
    body = {
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    }
    req = urllib.request.Request(
        base_url.rstrip("/") + "/v1/messages",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": "x",
            "X-Claude-Code-Session-Id": "docs-screenshot-session",
        },
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()
        return int(resp.status)


def main() -> int:
    chromium = shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        with start_emulator() as emulator:
            for case in CASES:
                tmp = Path(tempfile.mkdtemp(prefix="lockgate-shot-"))
                with start_gateway(tmp, workers=2) as gw:
                    apply_tutorial(gw, case, emulator, tmp)
                    claude_env = tutorials()[case.tutorial].claude_env
                    base_url = claude_env["ANTHROPIC_BASE_URL"].replace(
                        "http://localhost:8000", gw.proxy_url
                    )
                    model = claude_env["ANTHROPIC_MODEL"]
                    if model == "YOUR_GEMINI_MODEL":
                        model = case.model
                    for i, prompt in enumerate(PROMPTS):
                        assert ask(base_url, model, prompt, stream=i % 2 == 0) == 200
                    time.sleep(1.5)  # the workers write their rows within a second
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(gw.admin_url + "/dashboard/")
                    page.wait_for_function(
                        "() => Number(document.getElementById('updated').dataset.refreshes) >= 1"
                    )
                    page.screenshot(path=str(OUT / f"{case.provider}.png"), full_page=True)
                    print(f"{case.tutorial}: {OUT / f'{case.provider}.png'}")
                    if case.provider == "openai":
                        phone = browser.new_page(
                            viewport={"width": 390, "height": 844}, device_scale_factor=2
                        )
                        phone.goto(gw.admin_url + "/dashboard/")
                        phone.wait_for_function(
                            "() => Number(document.getElementById('updated').dataset.refreshes) >= 1"
                        )
                        phone.screenshot(path=str(OUT / "phone.png"), full_page=True)
                shutil.rmtree(tmp, ignore_errors=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
