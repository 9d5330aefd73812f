"""Broken credentials are refused at apply time, naming the field and never
printing the value (issue 15, part 3)."""

from __future__ import annotations

import json

import pytest
from tests.cli.test_gateway_cli import gateway, get

from lockgate.plugins.ai_proxy.credentials import credential_problems, credential_warnings
from lockgate.testing.emulator.google_oauth import GoogleOAuth

# The Gemini tutorial's plugin, with its credential from DECK_GEMINI_API_KEY.
GEMINI = """
_format_version: "3.0"
plugins:
- name: ai-proxy-advanced
  config:
    llm_format: anthropic
    targets:
    - route_type: llm/v1/chat
      auth:
        gcp_use_service_account: true
        gcp_service_account_json: '${{ env "DECK_GEMINI_API_KEY" }}'
      model:
        provider: gemini
        name: gemini-2.0-flash
        options:
          gemini: {api_endpoint: us-central1-aiplatform.googleapis.com, project_id: p, location_id: us-central1}
"""
FIELD = "-: plugins[0].config.targets.0.auth.gcp_service_account_json: "


def account(**changes: object) -> str:
    info: dict[str, object] = dict(
        GoogleOAuth().make_service_account("https://oauth2.googleapis.com/token")
    )
    info.update(changes)
    return json.dumps({k: v for k, v in info.items() if v is not None})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty (check the DECK_ variable it comes from)"),
        (
            "AIzaSyA-an-api-key-instead",
            "is not JSON; expected a service account key file (this looks like a Gemini API key",
        ),
        ("[1, 2]", "expected a JSON object (a service account key file)"),
        (
            account(type="authorized_user"),
            'expected a service account key file ("type": "service_account")',
        ),
        (
            account(client_email=None, token_uri=None),
            "the service account key lacks client_email, token_uri",
        ),
        (
            account(
                private_key="-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
            ),
            "private_key is not a PEM private key",
        ),
        (account(token_uri="oauth2.googleapis.com/token"), "token_uri is not an http(s) URL"),
    ],
)
async def test_a_service_account_json_must_be_one(value: str, message: str) -> None:
    run = await gateway("validate", "-", stdin=GEMINI, env={"DECK_GEMINI_API_KEY": value})
    assert run.status == 1
    assert run.err.startswith(f"Error: {FIELD}{message}"), run.err
    if len(value) >= 4:
        assert value not in run.err


async def test_a_real_service_account_passes() -> None:
    run = await gateway("validate", "-", stdin=GEMINI, env={"DECK_GEMINI_API_KEY": account()})
    assert (run.status, run.err) == (0, ""), run.err


HEADER = """
_format_version: "3.0"
plugins:
- name: ai-proxy
  config:
    route_type: llm/v1/chat
    auth:
      header_name: Authorization
      header_value: Bearer ${{ env "DECK_KEY" }}
    model: {provider: openai, name: gpt-4.1}
"""


async def test_an_invalid_credential_changes_nothing(admin_url: str) -> None:
    run = await gateway("apply", "-", "--admin-url", admin_url, stdin=HEADER, env={"DECK_KEY": ""})
    assert run.status == 1
    assert run.err == (
        "Error: -: plugins[0].config.auth.header_value: empty credential for header "
        "'Authorization' (check the DECK_ variable it comes from)\n"
    )
    assert (await get(f"{admin_url}/plugins"))["data"] == []
    newline = await gateway(
        "apply", "-", "--admin-url", admin_url, stdin=HEADER, env={"DECK_KEY": "sk-abc\n"}
    )
    assert newline.status == 1 and "contains a line break" in newline.err
    assert (await get(f"{admin_url}/plugins"))["data"] == []


async def test_the_admin_api_refuses_them_too(admin_url: str) -> None:
    import aiohttp

    body = HEADER.replace('Bearer ${{ env "DECK_KEY" }}', '"Bearer "')
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{admin_url}/config", data=body, headers={"Content-Type": "application/yaml"}
        ) as resp:
            answer = await resp.json()
    assert resp.status == 400
    assert "header_value: empty credential" in answer["message"]


def test_pairs_that_need_each_other() -> None:
    assert credential_problems({"header_value": "k"}, "config.auth") == [
        "config.auth.header_name: required when header_value is set"
    ]
    assert credential_problems({"param_name": "key", "param_value": " "}, "config.auth") == [
        "config.auth.param_value: empty credential for param 'key' "
        "(check the DECK_ variable it comes from)"
    ]
    assert credential_problems({"aws_access_key_id": "AKIAEXAMPLE"}, "c") == [
        "c.aws_secret_access_key: required with the other AWS key"
    ]
    assert credential_problems({"header_name": "x-api-key", "header_value": "sk-ant-1"}, "c") == []


def test_key_shapes_warn_only_against_the_real_endpoint() -> None:
    def target(provider: str, auth: dict[str, object], **options: object) -> dict[str, object]:
        return {"model": {"provider": provider, "options": options}, "auth": auth}

    bearer = {"header_name": "Authorization", "header_value": "Bearer hf-test"}
    (line,) = credential_warnings(target("huggingface", bearer), "config.auth")
    assert line.startswith("config.auth.header_value: does not look like a HuggingFace token")
    assert "hf-test" not in line
    assert credential_warnings(target("huggingface", bearer, upstream_url="http://e/"), "c") == []
    good = {"header_name": "x-api-key", "header_value": "sk-ant-api03-abc"}
    assert credential_warnings(target("anthropic", good), "c") == []
    gemini = {"param_name": "key", "param_value": "not-a-google-key"}
    assert "a Gemini API key" in credential_warnings(target("gemini", gemini), "c")[0]
    assert credential_warnings(target("mistral", bearer), "c") == []  # format not documented


async def test_shape_warnings_reach_the_terminal() -> None:
    text = HEADER.replace("provider: openai", "provider: huggingface")
    run = await gateway("validate", "-", stdin=text, env={"DECK_KEY": "hf-test"})
    assert run.status == 0
    assert run.err.startswith(
        "Warning: -: plugins[0].config.auth.header_value: does not look like a HuggingFace token"
    )
