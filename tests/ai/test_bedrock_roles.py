"""Bedrock through an assumed role: the configured key assumes
``aws_assume_role_arn`` at the emulated STS, Bedrock calls are signed with the
session, and a session that expired is renewed before the next call, which
therefore does not fail. The emulator's sessions last two seconds here."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
import requests
import yaml

from lockgate.testing.emulator.bedrock import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tests.ai.conftest import http_json
from tests.support.processes import GatewayProcess, start_emulator, start_gateway

CLAUDE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ROLE = "arn:aws:iam::123456789012:role/claude-users"


@pytest.fixture(scope="module")
def role_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, str]]:
    tmp = tmp_path_factory.mktemp("bedrock-roles")
    env = {"LOCKGATE_EMULATOR_AWS_SESSION_SECONDS": "2"}
    with start_emulator(env) as emulator, start_gateway(tmp) as gw:
        plugin = {
            "name": "ai-proxy",
            "config": {
                "route_type": "llm/v1/chat",
                "llm_format": "anthropic",
                "auth": {
                    "aws_access_key_id": DEFAULT_ACCESS_KEY_ID,
                    "aws_secret_access_key": DEFAULT_SECRET_ACCESS_KEY,
                },
                "model": {
                    "provider": "bedrock",
                    "name": CLAUDE,
                    "options": {
                        "upstream_url": emulator + "/bedrock",
                        "bedrock": {
                            "aws_region": "eu-central-1",
                            "aws_assume_role_arn": ROLE,
                            "aws_role_session_name": "lockgate-test",
                            "aws_sts_endpoint_url": emulator + "/sts",
                        },
                    },
                },
            },
        }
        config = {
            "_format_version": "3.0",
            "services": [
                {
                    "name": "bedrock",
                    "url": emulator,
                    "routes": [{"name": "role", "paths": ["/role"], "plugins": [plugin]}],
                }
            ],
        }
        result = gw.apply(yaml.safe_dump(config))
        assert result.returncode == 0, result.stdout + result.stderr
        gw.wait_config()
        yield gw, emulator


def _headers(record: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in record["headers"].items()}


def test_expired_session_is_renewed_without_a_failed_request(
    role_stack: tuple[GatewayProcess, str],
) -> None:
    gw, emulator = role_stack
    http_json("DELETE", emulator + "/_emulator/requests")
    client = anthropic.Anthropic(base_url=f"{gw.proxy_url}/role", api_key="x", max_retries=0)
    ask: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "[[reply as the role]]"}],
    }
    first = client.messages.create(**ask)
    assert first.content[0].text == "as the role"  # type: ignore[union-attr]
    time.sleep(3)  # the session the first call used has now expired
    second = client.messages.create(**ask)
    assert second.content[0].text == "as the role"  # type: ignore[union-attr]

    records = http_json("GET", emulator + "/_emulator/requests")
    sts = [r for r in records if r["provider"] == "aws_sts"]
    calls = [r for r in records if r["provider"] == "bedrock"]
    assert len(sts) >= 2 and len(calls) == 2
    assert f"Credential={DEFAULT_ACCESS_KEY_ID}/" in _headers(sts[0])["authorization"]
    assert "/eu-central-1/sts/aws4_request" in _headers(sts[0])["authorization"]
    keys = [_headers(c)["authorization"].split("Credential=")[1].split("/")[0] for c in calls]
    assert all(k.startswith("ASIA") for k in keys) and keys[0] != keys[1]
    assert all("x-amz-security-token" in _headers(c) for c in calls)
    # The first session is refused now: the gateway did not reuse it.
    replay = requests.post(
        emulator + calls[0]["path"],
        data=json.dumps(calls[0]["body"]),
        headers={k: v for k, v in calls[0]["headers"].items() if k.lower() != "content-length"},
        timeout=10,
    )
    assert replay.status_code == 403
    assert replay.headers["x-amzn-ErrorType"].startswith("ExpiredTokenException")


def test_log_and_errors_hold_no_aws_secret(role_stack: tuple[GatewayProcess, str]) -> None:
    gw, _ = role_stack
    logs = "".join(p.read_text() for p in Path(gw.prefix).rglob("*.log"))
    assert "configuration version" in logs  # the error log is there
    assert DEFAULT_SECRET_ACCESS_KEY not in logs
