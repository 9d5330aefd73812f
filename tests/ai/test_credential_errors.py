"""Credentials that only fail when a request needs them (a service account
that is not one, or whose key the token endpoint refuses; a header value no
HTTP header can carry) are answered with a 5xx in the client's format that
names the plugin and the field, never the secret, and logged in error.log
with the request id. Through a real gateway and emulator, with the SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import yaml

from tests.ai.conftest import CLIENT_KEY, http_json
from tests.support.processes import GatewayProcess, start_emulator, start_gateway

#: What GCP_SERVICE_ACCOUNT holds for the gateway: an API key, not a service account.
API_KEY = "AIzaSyD-not-a-service-account-0123456789"
GEMINI_OPTIONS = {
    "project_id": "lockgate-ai",
    "location_id": "us-central1",
}


def _gemini(emulator: str, llm_format: str, auth: dict[str, Any]) -> dict[str, Any]:
    return {
        "route_type": "llm/v1/chat",
        "llm_format": llm_format,
        "auth": {"gcp_use_service_account": True, **auth},
        "model": {
            "provider": "gemini",
            "name": "gemini-2.5-flash",
            "options": {"gemini": {"api_endpoint": emulator, **GEMINI_OPTIONS}},
        },
    }


def _config(emulator: str, wrong_key_account: str) -> str:
    def route(name: str, plugin: str, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "paths": [f"/{name}"],
            "plugins": [{"name": plugin, "config": config}],
        }

    advanced = {
        "llm_format": "anthropic",
        "targets": [
            {k: v for k, v in _gemini(emulator, "anthropic", {}).items() if k != "llm_format"}
        ],
    }
    newline = {
        "route_type": "llm/v1/chat",
        "llm_format": "openai",
        "auth": {"header_name": "Authorization", "header_value": "Bearer sk-line\nbreak"},
        "model": {
            "provider": "openai",
            "name": "gpt-4.1",
            "options": {"upstream_url": emulator + "/openai/v1/chat/completions"},
        },
    }
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "ai",
                "url": emulator,
                "routes": [
                    # No JSON in the file: the gateway's GCP_SERVICE_ACCOUNT (an API key) is used.
                    route("env-key", "ai-proxy", _gemini(emulator, "anthropic", {})),
                    route("env-key-oai", "ai-proxy", _gemini(emulator, "openai", {})),
                    route(
                        "wrong-key",
                        "ai-proxy",
                        _gemini(
                            emulator,
                            "anthropic",
                            {"gcp_service_account_json": wrong_key_account},
                        ),
                    ),
                    route("advanced", "ai-proxy-advanced", advanced),
                    route("newline", "ai-proxy", newline),
                ],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, str]]:
    tmp = tmp_path_factory.mktemp("credentials")
    with (
        start_emulator() as emulator,
        start_gateway(tmp, env={"GCP_SERVICE_ACCOUNT": API_KEY}) as gw,
    ):
        one = http_json("POST", emulator + "/_emulator/service-account", {})
        other = http_json("POST", emulator + "/_emulator/service-account", {})
        # A well-formed account signed with another account's key: only the
        # token endpoint can tell, at request time.
        wrong = json.dumps({**one, "private_key": other["private_key"]})
        result = gw.apply(_config(emulator, wrong))
        assert result.returncode == 0, result.stdout + result.stderr
        gw.wait_config()
        yield gw, wrong


def _error_log_line(gw: GatewayProcess, request_id: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in gw.error_log().splitlines() if request_id in line]
        if lines or time.monotonic() > deadline:
            assert len(lines) == 1, gw.error_log()
            return lines[0]
        time.sleep(0.05)


def _anthropic(gw: GatewayProcess, route: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gw.proxy_url}/{route}", api_key=CLIENT_KEY, max_retries=0, timeout=60
    )


def _ask_anthropic(
    gw: GatewayProcess, route: str, stream: bool = False
) -> anthropic.APIStatusError:
    client = _anthropic(gw, route)
    kwargs: dict[str, Any] = {
        "model": "gemini-2.5-flash",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with pytest.raises(anthropic.InternalServerError) as caught:
        if stream:
            with client.messages.stream(**kwargs) as s:
                s.get_final_message()
        else:
            client.messages.create(**kwargs)
    return caught.value


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_api_key_instead_of_service_account_anthropic_client(
    gateway: tuple[GatewayProcess, str], stream: bool
) -> None:
    gw, _ = gateway
    err = _ask_anthropic(gw, "env-key", stream)
    assert err.status_code == 500
    assert isinstance(err.body, dict)
    assert err.body["type"] == "error" and err.body["error"]["type"] == "api_error"
    message = err.body["error"]["message"]
    assert message.startswith("ai-proxy: ")
    assert "auth.gcp_service_account_json" in message and "GCP_SERVICE_ACCOUNT" in message
    assert "not a service account key" in message
    assert API_KEY not in message
    request_id = err.response.headers["x-kong-request-id"]
    line = _error_log_line(gw, request_id)
    assert "ERROR" in line and "not a service account key" in line
    assert API_KEY not in gw.error_log()


def test_api_key_instead_of_service_account_openai_client(
    gateway: tuple[GatewayProcess, str],
) -> None:
    gw, _ = gateway
    client = openai.OpenAI(
        base_url=f"{gw.proxy_url}/env-key-oai/v1", api_key=CLIENT_KEY, max_retries=0, timeout=60
    )
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
        )
    err = caught.value
    assert err.status_code == 500
    assert isinstance(err.body, dict)
    assert err.body["type"] == "server_error"
    assert err.body["message"].startswith("ai-proxy: config.auth.gcp_service_account_json")
    assert API_KEY not in err.body["message"]
    _error_log_line(gw, err.response.headers["x-kong-request-id"])


def test_key_the_token_endpoint_refuses(gateway: tuple[GatewayProcess, str]) -> None:
    gw, account = gateway
    err = _ask_anthropic(gw, "wrong-key")
    assert isinstance(err.body, dict)
    message = err.body["error"]["message"]
    assert message.startswith("ai-proxy: config.auth.gcp_service_account_json: ")
    assert "Invalid JWT Signature" in message
    private_key = json.loads(account)["private_key"]
    line = _error_log_line(gw, err.response.headers["x-kong-request-id"])
    assert "Invalid JWT Signature" in line
    for piece in private_key.splitlines()[1:-1]:
        assert piece not in gw.error_log() and piece not in message


def test_advanced_target_named_by_its_index(gateway: tuple[GatewayProcess, str]) -> None:
    gw, _ = gateway
    err = _ask_anthropic(gw, "advanced")
    assert isinstance(err.body, dict)
    assert err.body["error"]["message"].startswith(
        "ai-proxy-advanced: config.targets[0].auth.gcp_service_account_json"
    )


def test_header_value_with_a_line_break(gateway: tuple[GatewayProcess, str]) -> None:
    gw, _ = gateway
    client = openai.OpenAI(
        base_url=f"{gw.proxy_url}/newline/v1", api_key=CLIENT_KEY, max_retries=0, timeout=60
    )
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
        )
    err = caught.value
    assert isinstance(err.body, dict)
    assert err.body["message"] == (
        "ai-proxy: config.auth.header_value: contains a line break, which no HTTP header can carry"
    )
    line = _error_log_line(gw, err.response.headers["x-kong-request-id"])
    assert "sk-line" not in gw.error_log() and "header_value" in line


def test_missing_service_account(tmp_path: Path) -> None:
    """No JSON in the file and no GCP_SERVICE_ACCOUNT: the message says both."""
    with start_emulator() as emulator, start_gateway(tmp_path) as gw:
        config = {
            "_format_version": "3.0",
            "services": [
                {
                    "name": "ai",
                    "url": emulator,
                    "routes": [
                        {
                            "name": "none",
                            "paths": ["/none"],
                            "plugins": [
                                {"name": "ai-proxy", "config": _gemini(emulator, "anthropic", {})}
                            ],
                        }
                    ],
                }
            ],
        }
        assert gw.apply(yaml.safe_dump(config)).returncode == 0
        gw.wait_config()
        err = _ask_anthropic(gw, "none")
        assert isinstance(err.body, dict)
        message = err.body["error"]["message"]
        assert message.startswith("ai-proxy: config.auth.gcp_service_account_json: is empty")
        assert "GCP_SERVICE_ACCOUNT is not set" in message
        _error_log_line(gw, err.response.headers["x-kong-request-id"])


def test_sdk_does_not_retry_a_broken_credential(gateway: tuple[GatewayProcess, str]) -> None:
    """x-should-retry: false, which both SDKs obey: one request, not three."""
    gw, _ = gateway
    marker = "config.auth.gcp_service_account_json: not a service account key"
    before = gw.error_log().count(marker)
    client = anthropic.Anthropic(
        base_url=f"{gw.proxy_url}/env-key", api_key=CLIENT_KEY, max_retries=2, timeout=60
    )
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(
            model="gemini-2.5-flash", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.response.headers["x-should-retry"] == "false"
    _error_log_line(gw, caught.value.response.headers["x-kong-request-id"])
    assert gw.error_log().count(marker) == before + 1
