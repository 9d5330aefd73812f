"""No credential on the terminal: diff lines, errors, dumps (issue 15, part 1)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from tests.cli.test_gateway_cli import TUTORIAL, Run, gateway

from lockgate.admin.config_changes import describe_changes
from lockgate.cli.gateway import run_gateway
from lockgate.cli.sanitize import Sanitizer
from lockgate.config.state import GatewayState
from lockgate.config.yaml_core import load_yaml
from lockgate.testing.emulator.google_oauth import GoogleOAuth

HF_PLUGIN = """
_format_version: "3.0"
plugins:
- name: ai-proxy
  config:
    llm_format: anthropic
    route_type: llm/v1/chat
    auth:
      header_name: Authorization
      header_value: Bearer ${{ env "DECK_HUGGINGFACE_API_TOKEN" }}
    model:
      provider: huggingface
      name: meta-llama/Llama-3.3-70B-Instruct
"""

GEMINI_ADVANCED = """
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
        name: MODEL
        options:
          gemini:
            api_endpoint: us-central1-aiplatform.googleapis.com
            project_id: ${{ env "DECK_GCP_PROJECT_ID" }}
            location_id: us-central1
"""


def service_account() -> dict[str, str]:
    return GoogleOAuth().make_service_account("https://oauth2.googleapis.com/token")


async def apply(admin_url: str, text: str, env: dict[str, str], command: str = "apply") -> Run:
    return await gateway(command, "-", "--admin-url", admin_url, stdin=text, env=env)


@pytest.mark.parametrize("command", ["diff", "apply", "sync"])
async def test_a_changed_credential_is_masked_on_both_sides(admin_url: str, command: str) -> None:
    first = await apply(admin_url, HF_PLUGIN, {"DECK_HUGGINGFACE_API_TOKEN": "hf_old_secret_1"})
    assert first.status == 0, first.err
    # The old value is no longer in the environment, so only field masking can hide it.
    run = await apply(
        admin_url, HF_PLUGIN, {"DECK_HUGGINGFACE_API_TOKEN": "hf_new_secret_2"}, command
    )
    assert run.status == 0, run.err
    assert "hf_old_secret_1" not in run.out + run.err
    assert "hf_new_secret_2" not in run.out + run.err
    assert '  - config.auth.header_value: "[masked]"\n' in run.out
    assert '  + config.auth.header_value: "[masked]"\n' in run.out


async def test_a_changed_target_prints_its_fields_not_the_targets_list(admin_url: str) -> None:
    account = service_account()
    env = {"DECK_GEMINI_API_KEY": json.dumps(account), "DECK_GCP_PROJECT_ID": "my-project"}
    first = await apply(admin_url, GEMINI_ADVANCED.replace("MODEL", "gemini-2.0-flash"), env)
    assert first.status == 0, first.err
    run = await apply(admin_url, GEMINI_ADVANCED.replace("MODEL", "gemini-2.5-pro"), env, "diff")
    assert run.status == 0, run.err
    assert run.out == (
        "updating plugin ai-proxy-advanced (global)\n"
        '  - config.targets[0].model.name: "gemini-2.0-flash"\n'
        '  + config.targets[0].model.name: "gemini-2.5-pro"\n'
        "Summary:\n  Created: 0\n  Updated: 1\n  Deleted: 0\n"
    )
    # A new key: the JSON (and its private key) never appears, escaped or not.
    env["DECK_GEMINI_API_KEY"] = json.dumps(service_account())
    run = await apply(admin_url, GEMINI_ADVANCED.replace("MODEL", "gemini-2.0-flash"), env)
    assert run.status == 0, run.err
    assert "PRIVATE KEY" not in run.out and "client_email" not in run.out
    assert '  - config.targets[0].auth.gcp_service_account_json: "[masked]"\n' in run.out


async def test_deck_variables_are_masked_everywhere_unless_asked(admin_url: str) -> None:
    # decK masks the value of every DECK_ variable, used by the file or not.
    env = {"DECK_UPSTREAM_HOST": "httpbin.konghq.com"}
    run = await apply(admin_url, TUTORIAL, env)
    assert run.status == 0, run.err
    changed = TUTORIAL.replace("httpbin.konghq.com", "httpbin.org")
    run = await apply(admin_url, changed, env, "diff")
    assert '  - host: "[masked]"\n  + host: "httpbin.org"\n' in run.out
    run = await gateway(
        "diff",
        "-",
        "--admin-url",
        admin_url,
        "--no-mask-deck-env-vars-value",
        stdin=changed,
        env=env,
    )
    assert '  - host: "httpbin.konghq.com"\n' in run.out


async def test_error_messages_mask_deck_values() -> None:
    text = '_format_version: "3.0"\nservices:\n- name: ${{ env "DECK_NAME" }}\n  host: h\n'
    run = await gateway("validate", "-", stdin=text, env={"DECK_NAME": "secret name!"})
    assert run.status == 1
    assert "secret name!" not in run.err and "invalid value '[masked]'" in run.err


async def test_duplicate_key_auth_keys_are_not_echoed() -> None:
    text = """
_format_version: "3.0"
consumers:
- username: a
  keyauth_credentials:
  - key: the-shared-secret-key
- username: b
  keyauth_credentials:
  - key: the-shared-secret-key
"""
    run = await gateway("validate", "-", stdin=text)
    assert run.status == 1 and "duplicate" in run.err
    assert "the-shared-secret-key" not in run.err


def test_redis_and_database_passwords_are_masked_in_changes() -> None:
    # A plugin lockgate may gain (rate limiting with Redis, a database log sink):
    # the masking is by field name, so it covers them without a new rule.
    def state(password: str) -> GatewayState:
        plugin = {
            "id": "7b6f6a8e-2a3b-4c1d-9e0f-112233445566",
            "name": "ai-rate-limiting-advanced",
            "config": {
                "redis": {"host": "redis.internal", "password": password},
                "database": {"pg_password": password, "pg_user": "kong"},
                "aws_secret_access_key": password,
            },
        }
        return GatewayState({"plugins": {plugin["id"]: plugin}})

    (change,) = describe_changes(state("old-redis-pass"), state("new-redis-pass"))
    fields = {f["field"]: (f["old"], f["new"]) for f in change["fields"]}
    assert fields == {
        "config.redis.password": ("[masked]", "[masked]"),
        "config.database.pg_password": ("[masked]", "[masked]"),
        "config.aws_secret_access_key": ("[masked]", "[masked]"),
    }


async def test_dump_keeps_secrets_and_sanitize_hides_them(admin_url: str) -> None:
    account = service_account()
    env = {
        "DECK_GEMINI_API_KEY": json.dumps(account),
        "DECK_GCP_PROJECT_ID": "my-project",
        "DECK_HUGGINGFACE_API_TOKEN": "hf_dump_secret",
    }
    assert (await apply(admin_url, TUTORIAL, env)).status == 0
    route_plugin = HF_PLUGIN.replace(
        "- name: ai-proxy\n", "- name: ai-proxy\n  route: example-route\n"
    )
    assert (await apply(admin_url, route_plugin, env)).status == 0
    gemini = GEMINI_ADVANCED.replace("MODEL", "gemini-2.0-flash")
    assert (await apply(admin_url, gemini, env)).status == 0

    backup = await gateway("dump", "--admin-url", admin_url)
    assert backup.status == 0, backup.err
    assert "hf_dump_secret" in backup.out  # a backup: decK writes secrets in clear
    dumped = {p["name"]: p for p in load_yaml(backup.out)["plugins"]}
    auth = dumped["ai-proxy-advanced"]["config"]["targets"][0]["auth"]
    assert auth["gcp_service_account_json"] == json.dumps(account)

    run = await gateway("dump", "--sanitize", "--admin-url", admin_url)
    assert run.status == 0, run.err
    for secret in ("hf_dump_secret", account["client_email"], "example-service", "my-project"):
        assert secret not in run.out
    assert "PRIVATE KEY-----\n" + account["private_key"].splitlines()[1] not in run.out
    sanitized = load_yaml(run.out)
    service, route = sanitized["services"][0], sanitized["routes"][0]
    plugins = {p["name"]: p for p in sanitized["plugins"]}
    # references still resolve; fixed-set fields are kept so the file still validates
    assert route["service"] == {"name": service["name"]}
    assert plugins["ai-proxy"]["route"] == {"name": route["name"]}
    assert plugins["ai-proxy"]["config"]["model"]["provider"] == "huggingface"
    assert plugins["ai-proxy"]["config"]["llm_format"] == "anthropic"
    assert service["protocol"] == "http" and service["port"] == 80
    assert route["paths"][0].startswith("/redacted/path/")
    target = plugins["ai-proxy-advanced"]["config"]["targets"][0]
    sanitized_account = json.loads(target["auth"]["gcp_service_account_json"])
    assert sanitized_account["type"] == "service_account"
    assert sanitized_account["client_email"].startswith("email@")
    assert sanitized_account["private_key"] != account["private_key"]
    check = await gateway("validate", "-", stdin=run.out)
    assert check.status == 0 and "Error" not in check.err, check.err


def test_sanitizer_is_consistent_and_keeps_shapes() -> None:
    sanitizer = Sanitizer(salt="s")
    a, b = sanitizer.value("example-service"), sanitizer.value("example-service")
    assert a == b and len(a) == 64 and a != Sanitizer(salt="t").value("example-service")
    assert sanitizer.value("/tmp/claude.json").startswith("/redacted/path/")
    assert sanitizer.value("me@example.com").startswith("email@")
    assert sanitizer.value("http://127.0.0.1:9100/v1").startswith("http://")
    assert sanitizer.value("{vault://env/key}") == "{vault://env/key}"
    document: dict[str, Any] = {
        "_format_version": "3.0",
        "plugins": [
            {
                "name": "pre-function",
                "config": {"access": ["kong.log.err('secret')"]},
                "protocols": ["http"],
            }
        ],
    }
    out = sanitizer.document(document)
    assert out["plugins"][0]["name"] == "pre-function"
    assert out["plugins"][0]["protocols"] == ["http"]
    assert out["plugins"][0]["config"]["access"][0].startswith("-- redacted:")


async def test_masking_survives_json_escaping(admin_url: str) -> None:
    # A DECK_ value with quotes and newlines is escaped in a JSON diff line;
    # masking works on the value, before it is escaped.
    text = '_format_version: "3.0"\nservices:\n- name: s\n  host: h\n  tags: ["${{ env "DECK_TAG" }}"]\n'
    env = {"DECK_TAG": 'line one\nline "two"'}
    assert (await apply(admin_url, text.split("  tags")[0], {})).status == 0
    run = await apply(admin_url, text, env, "diff")
    assert run.status == 0, run.err
    assert "line one" not in run.out and '  + tags: ["[masked]"]\n' in run.out


async def test_masked_output_of_the_blocking_entry_point() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = await run_gateway(
        ["validate", "-"],
        stdin=io.StringIO(
            '_format_version: "3.0"\nservices:\n- name: s\n  host: "${{ env "DECK_H" }}"\n  port: -1\n'
        ),
        stdout=out,
        stderr=err,
        env={"DECK_H": "hidden.example"},
    )
    assert status == 1 and "services[0].port" in err.getvalue()
    assert "hidden.example" not in err.getvalue()
