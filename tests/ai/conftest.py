"""One real gateway and one emulator process for the whole directory.

Every provider gets its own routes in one configuration, so the tests of a
module never wait for a configuration change:

- ``/<key>``: Anthropic-format clients (``llm_format: anthropic``) on a
  service with the default timeouts;
- ``/t-<key>``: the same plugin on a service whose ``read_timeout`` is one
  second (timeout tests);
- ``/oai-<key>``: OpenAI-format clients (``llm_format: openai``).

A global file-log plugin writes every request's record; each test tags its
requests with a unique header and finds its own lines by it.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import yaml

from tests.support.processes import GatewayProcess, start_emulator, start_gateway

#: The header each test sets on its requests to find its log lines.
TAG_HEADER = "x-lockgate-test"
#: What the SDK clients send as their key; the gateway must never pass it on.
CLIENT_KEY = "sk-client-dummy-key"
SHORT_READ_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class Provider:
    """One provider as the tests configure it."""

    key: str  # route name
    name: str  # model.provider
    model: str
    path: str  # the upstream path the emulator sees (prefix for Gemini)
    credential: tuple[str, str]  # (header, value) the emulator must receive; ("", "") for none
    vertex: bool = False  # Gemini on Vertex AI (service account) rather than the public API


PROVIDERS = {
    "hf": Provider(
        "hf",
        "huggingface",
        "Qwen/Qwen3-32B",
        "/huggingface/v1/chat/completions",
        ("authorization", "Bearer hf-secret-token"),
    ),
    "anthropic": Provider(
        "anthropic",
        "anthropic",
        "claude-sonnet-4-6",
        "/anthropic/v1/messages",
        ("x-api-key", "sk-ant-secret"),
    ),
    "dashscope": Provider(
        "dashscope",
        "dashscope",
        "qwen-plus",
        "/dashscope/compatible-mode/v1/chat/completions",
        ("authorization", "Bearer sk-dashscope-secret"),
    ),
    "gemini": Provider(
        "gemini",
        "gemini",
        "gemini-2.5-flash",
        "/v1/projects/lockgate-ai/locations/us-central1/publishers/google/models/gemini-2.5-flash:",
        ("authorization", "Bearer "),  # a token minted from the service account
        vertex=True,
    ),
    "gemini3": Provider(
        "gemini3",
        "gemini",
        "gemini-3-pro-preview",
        "/v1/projects/lockgate-ai/locations/us-central1/publishers/google/models/gemini-3-pro-preview:",
        ("authorization", "Bearer "),
        vertex=True,
    ),
    "gemini-public": Provider(
        "gemini-public",
        "gemini",
        "gemini-2.5-flash",
        "/v1beta/models/gemini-2.5-flash:",
        ("", ""),  # the key travels in the query string
    ),
    "openai": Provider(
        "openai",
        "openai",
        "gpt-4.1",
        "/openai/v1/chat/completions",
        ("authorization", "Bearer sk-openai-secret"),
    ),
    "openai-reasoning": Provider(
        "openai-reasoning",
        "openai",
        "gpt-5-mini",
        "/openai/v1/chat/completions",
        ("authorization", "Bearer sk-openai-secret"),
    ),
}
#: The five seed providers' routes.
SEEDS = ["hf", "anthropic", "dashscope", "gemini", "openai"]
WITH_PUBLIC_GEMINI = [*SEEDS, "gemini-public"]
#: Gemini 3 needs the thought signature of its function calls back: tool tests add it.
WITH_GEMINI_3 = [*SEEDS, "gemini3"]
GEMINI_PUBLIC_KEY = "gemini-secret-key"
#: Per million tokens, on the OpenAI routes (checked against the log's cost).
INPUT_COST, OUTPUT_COST = 2.5, 10.0


def plugin_config(provider: Provider, emulator: str, account: str, llm_format: str) -> dict:
    """The ai-proxy configuration that points ``provider`` at the emulator."""
    options: dict[str, Any] = {}
    auth: dict[str, Any] = {}
    if provider.vertex:
        options["gemini"] = {
            "api_endpoint": emulator,
            "project_id": "lockgate-ai",
            "location_id": "us-central1",
        }
        auth = {"gcp_use_service_account": True, "gcp_service_account_json": account}
    elif provider.name == "gemini":
        options["upstream_url"] = emulator
        auth = {"param_name": "key", "param_value": GEMINI_PUBLIC_KEY, "param_location": "query"}
    else:
        options["upstream_url"] = emulator + provider.path
        auth = {"header_name": provider.credential[0], "header_value": provider.credential[1]}
    if provider.name == "anthropic":
        options["anthropic_version"] = "2023-06-01"
    if provider.name == "openai":
        options.update(input_cost=INPUT_COST, output_cost=OUTPUT_COST)
    return {
        "route_type": "llm/v1/chat",
        "llm_format": llm_format,
        "logging": {"log_statistics": True, "log_payloads": False},
        "auth": auth,
        "model": {"provider": provider.name, "name": provider.model, "options": options},
    }


def gateway_config(emulator: str, account: str, log_path: Path) -> str:
    def routes(prefix: str, llm_format: str) -> list[dict[str, Any]]:
        return [
            {
                "name": f"{prefix}{p.key}",
                "paths": [f"/{prefix}{p.key}"],
                "plugins": [
                    {
                        "name": "ai-proxy",
                        "config": plugin_config(p, emulator, account, llm_format),
                    }
                ],
            }
            for p in PROVIDERS.values()
        ]

    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "ai",
                "url": emulator,
                "routes": routes("", "anthropic") + routes("oai-", "openai"),
            },
            {
                "name": "ai-short",
                "url": emulator,
                "read_timeout": SHORT_READ_TIMEOUT_MS,
                "routes": routes("t-", "anthropic"),
            },
        ],
        "plugins": [{"name": "file-log", "config": {"path": str(log_path)}}],
    }
    return yaml.safe_dump(config, sort_keys=False)


def http_json(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


class Stack:
    """The gateway, the emulator behind it, and the log they produce."""

    def __init__(self, gw: GatewayProcess, emulator: str, log_path: Path) -> None:
        self.gw = gw
        self.emulator = emulator
        self.log_path = log_path

    def apply(self, text: str) -> None:
        """Applies a decK file (additively) and waits until every worker has it."""
        result = self.gw.apply(text)
        assert result.returncode == 0, result.stdout + result.stderr
        self.gw.wait_config()

    # -- clients ---------------------------------------------------------------

    def anthropic(self, route: str, tag: str, **kwargs: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=f"{self.gw.proxy_url}/{route}",
            api_key=CLIENT_KEY,
            max_retries=0,
            timeout=60,
            default_headers={TAG_HEADER: tag},
            **kwargs,
        )

    def openai(self, route: str, tag: str) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.gw.proxy_url}/{route}/v1",
            api_key=CLIENT_KEY,
            max_retries=0,
            timeout=60,
            default_headers={TAG_HEADER: tag},
        )

    # -- what the emulator received ------------------------------------------------

    def clear_upstream(self) -> None:
        http_json("DELETE", self.emulator + "/_emulator/requests")

    def upstream(self, path_part: str = "") -> list[dict[str, Any]]:
        """Requests the emulator recorded (whose path contains ``path_part``), oldest first."""
        records = http_json("GET", self.emulator + "/_emulator/requests")
        return [r for r in records if path_part in r["path"]]

    # -- the log ---------------------------------------------------------------------

    def log_records(self, tag: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        """The log records of the requests tagged ``tag``, once ``count`` of them are written."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = []
            if self.log_path.exists():
                # Complete lines only: the gateway may be writing the last one.
                text = self.log_path.read_text()
                for line in text[: text.rfind("\n") + 1].splitlines():
                    if tag in line:
                        record = json.loads(line)
                        if record["request"]["headers"].get(TAG_HEADER) == tag:
                            found.append(record)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} log records tagged {tag}, found {len(found)}")

    def log_record(self, tag: str) -> dict[str, Any]:
        return self.log_records(tag)[-1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("ai")
    with start_emulator() as emulator, start_gateway(tmp, workers=1) as gw:
        account = json.dumps(http_json("POST", emulator + "/_emulator/service-account", {}))
        s = Stack(gw, emulator, tmp / "ai-log.json")
        s.apply(gateway_config(emulator, account, s.log_path))
        yield s


@pytest.fixture
def tag() -> str:
    return "t-" + uuid.uuid4().hex


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    """The stack with the emulator's request log emptied."""
    stack.clear_upstream()
    return stack
