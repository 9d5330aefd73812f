"""Upstream failures are logged in error.log: one line with the request id,
the plugin, the target and what the provider said; never a credential.
A connection error names no TLS problem for a plain-HTTP URL."""

from __future__ import annotations

import socket
import time

import anthropic
import pytest
import yaml

from tests.ai.conftest import PROVIDERS, Stack


def _lines(stack: Stack, request_id: str) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in stack.gw.error_log().splitlines() if request_id in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize("key", ["openai", "anthropic"])
def test_upstream_error_status_is_logged_once(fresh: Stack, tag: str, key: str) -> None:
    provider = PROVIDERS[key]
    with pytest.raises(anthropic.InternalServerError) as caught:
        fresh.anthropic(key, tag).messages.create(
            model=provider.model,
            max_tokens=32,
            messages=[{"role": "user", "content": "[[fail 500]]"}],
        )
    request_id = caught.value.response.headers["x-kong-request-id"]
    lines = _lines(fresh, request_id)
    assert len(lines) == 1, fresh.gw.error_log()
    line = lines[0]
    assert f"ai-proxy: upstream {provider.name}/{provider.model} failed" in line
    assert f"{provider.name} answered 500" in line
    assert "ERROR" in line
    assert provider.credential[1] not in fresh.gw.error_log()


def test_connection_error_through_ai_proxy(fresh: Stack, tag: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "nowhere",
                "url": f"http://127.0.0.1:{port}",
                "routes": [
                    {
                        "name": "nowhere",
                        "paths": ["/nowhere"],
                        "plugins": [
                            {
                                "name": "ai-proxy",
                                "config": {
                                    "route_type": "llm/v1/chat",
                                    "llm_format": "anthropic",
                                    "auth": {"header_name": "x-api-key", "header_value": "k"},
                                    "model": {
                                        "provider": "anthropic",
                                        "name": "claude-sonnet-4-6",
                                        "options": {
                                            "upstream_url": f"http://127.0.0.1:{port}/v1/messages",
                                            "anthropic_version": "2023-06-01",
                                        },
                                    },
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    fresh.apply(yaml.safe_dump(config))
    with pytest.raises(anthropic.APIStatusError) as caught:
        fresh.anthropic("nowhere", tag).messages.create(
            model="claude-sonnet-4-6", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
        )
    err = caught.value
    assert err.status_code == 502
    assert isinstance(err.body, dict)
    message = err.body["error"]["message"]
    expected = f"cannot connect to 127.0.0.1:{port} (http): Connection refused"
    assert message == f"upstream LLM provider failed: {expected}"
    lines = _lines(fresh, err.response.headers["x-kong-request-id"])
    assert len(lines) == 1 and expected in lines[0]
    assert "ssl" not in lines[0].lower() and "tls" not in lines[0].lower()
