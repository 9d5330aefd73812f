"""The dashboard in a real headless Chromium (Playwright): after known
traffic its figures, charts and tables show the requests sent, one request
opens, it refreshes by itself, and it fits a phone's screen."""

from __future__ import annotations

import concurrent.futures
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import playwright.sync_api as playwright_api
import pytest

from tests.monitoring.test_metrics_and_ledger import ask, config, wait_rows
from tests.support.processes import GatewayProcess, start_emulator, start_gateway


def _chromium() -> str | None:
    """Debian's Chromium when installed; None lets Playwright use its own."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("dashboard")
    with start_emulator() as emulator, start_gateway(tmp, workers=2) as gw:
        assert gw.apply(config(emulator, tmp / "file-log.json")).returncode == 0
        gw.wait_config()
        jobs = [("alice-key", i) for i in range(5)] + [("bob-key", i) for i in range(3)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda j: ask(gw, j[0], f"q{j[1]}", stream=j[1] % 2 == 0), jobs)
            )
        assert statuses == [200] * 8
        assert len(wait_rows(gw, 8)) == 8
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        # make test installs Debian's chromium; a missing browser fails here, never skips.
        launched = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


def _load(browser: Any, url: str, **context: Any) -> Any:
    page = browser.new_page(**context)
    page.goto(url + "/dashboard/")
    page.wait_for_function(
        "() => Number(document.getElementById('updated').dataset.refreshes) >= 1"
    )
    return page


def test_dashboard_shows_the_traffic(gateway: GatewayProcess, browser: Any) -> None:
    page = _load(browser, gateway.admin_url)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    assert page.text_content("#kpi-requests") == "8"
    assert page.text_content("#kpi-error-rate") == "0.0%"
    assert "ms /" in (page.text_content("#kpi-latency") or "")
    assert "ms /" in (page.text_content("#kpi-ttft") or "")
    # The charts drew the same requests (and a canvas).
    assert page.get_attribute("#chart-requests", "data-sum") == "8"
    assert page.locator("#chart-requests canvas").count() == 1
    tokens = int(float(page.get_attribute("#chart-tokens", "data-sum") or 0))
    assert tokens > 0
    by_consumer = {
        row.locator("td").nth(0).text_content(): row.locator("td").nth(1).text_content()
        for row in page.locator("#by-consumer tbody tr").all()
    }
    assert by_consumer == {"alice": "5", "bob": "3"}
    models = page.locator("#by-model tbody tr td").all_text_contents()
    assert models[:2] == ["gpt-4o-mini", "8"]
    assert page.locator("#by-provider tbody tr td").nth(0).text_content() == "openai"
    assert page.locator("#recent tbody tr").count() == 8
    assert "llm" in (page.text_content("#services") or "")
    assert "ai-proxy" in (page.text_content("#plugins") or "")
    # One request opens with its whole row.
    first = page.locator("#recent tbody tr").first
    request_id = first.get_attribute("data-request-id")
    first.click()
    page.wait_for_selector("#detail[open]")
    assert page.text_content("#detail-id") == request_id
    fields = page.locator("#detail-fields tbody tr td").all_text_contents()
    pairs = dict(zip(fields[::2], fields[1::2], strict=True))
    assert pairs["request_id"] == request_id and pairs["session_id"].endswith("monitoring-session")
    assert pairs["provider"] == "openai" and pairs["status"] == "200"
    # It refreshes by itself, and nothing it loads comes from elsewhere.
    page.wait_for_function(
        "() => Number(document.getElementById('updated').dataset.refreshes) >= 2", timeout=20000
    )
    assert requests and all(url.startswith(gateway.admin_url) for url in requests)


def test_dashboard_fits_a_phone(gateway: GatewayProcess, browser: Any, tmp_path: Path) -> None:
    page = _load(
        browser, gateway.admin_url, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert page.text_content("#kpi-requests") == "8"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert (tmp_path / "phone.png").stat().st_size > 10_000
