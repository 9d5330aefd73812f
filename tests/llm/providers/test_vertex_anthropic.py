"""Claude on Vertex AI: which configurations select it, its URLs, body and beta rules."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from multidict import CIMultiDict

from lockgate.llm.providers import build_provider
from lockgate.llm.providers.config import AuthConfig, ModelConfig, ModelOptions
from lockgate.llm.providers.gemini import GeminiProvider
from lockgate.llm.providers.vertex_anthropic import VertexAnthropicProvider, vertex_betas

BASE = "https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models"


def vertex(model: str | None = "claude-sonnet-4-5@20250929", **gemini: Any) -> Any:
    options = {"project_id": "p1", "location_id": "us-east5", **gemini}
    config = ModelConfig(provider="gemini", name=model, options=ModelOptions(gemini=options))
    return build_provider(config, AuthConfig(gcp_use_service_account=True))


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-5@20250929",
        "claude-opus-4-1@20250805",
        "claude-haiku-4-5",
        "publishers/anthropic/models/claude-sonnet-4-6",
    ],
)
def test_a_claude_model_name_selects_vertex_claude(model: str) -> None:
    provider = vertex(model)
    assert isinstance(provider, VertexAnthropicProvider)
    assert (provider.name, provider.wire) == ("gemini", "anthropic")


@pytest.mark.parametrize("model", ["gemini-2.5-pro", None])
def test_other_gemini_models_stay_gemini(model: str | None) -> None:
    provider = vertex(model)
    assert type(provider) is GeminiProvider


def test_urls_name_the_model_and_the_method() -> None:
    provider = vertex()
    assert provider.chat_endpoint("claude-sonnet-4-5@20250929", False).url == (
        f"{BASE}/claude-sonnet-4-5@20250929:rawPredict"
    )
    assert provider.chat_endpoint("claude-sonnet-4-5@20250929", True).url == (
        f"{BASE}/claude-sonnet-4-5@20250929:streamRawPredict"
    )
    assert provider.count_tokens_endpoint("claude-sonnet-4-5@20250929").url == (
        f"{BASE}/count-tokens:rawPredict"
    )


def test_the_global_location_has_no_region_prefix() -> None:
    provider = vertex(location_id="global")
    assert provider.chat_endpoint("claude-opus-4-1", True).url == (
        "https://aiplatform.googleapis.com/v1/projects/p1/locations/global"
        "/publishers/anthropic/models/claude-opus-4-1:streamRawPredict"
    )


def test_api_endpoint_wins_over_the_location() -> None:
    provider = vertex(api_endpoint="http://127.0.0.1:9100")
    assert provider.chat_endpoint("claude-opus-4-1", False).url == (
        "http://127.0.0.1:9100/v1/projects/p1/locations/us-east5"
        "/publishers/anthropic/models/claude-opus-4-1:rawPredict"
    )


def test_the_body_loses_model_and_gains_the_version_on_the_bytes() -> None:
    raw = b'{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi \\u00e9"}],"max_tokens":100,"stream":true}'
    body = orjson.loads(raw)
    out = vertex().passthrough_body(raw, body, "claude-sonnet-4-5@20250929")
    # Every other byte as the client sent it (its escapes too).
    assert out == (
        b'{"anthropic_version":"vertex-2023-10-16","messages":[{"role":"user","content":"hi \\u00e9"}],'
        b'"max_tokens":100,"stream":true}'
    )


def test_model_elsewhere_than_first_is_edited_on_the_dict_keeping_key_order() -> None:
    raw = b'{"max_tokens":100,"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}'
    provider = vertex()
    assert provider.passthrough_body(raw, orjson.loads(raw), "m") is None
    body = provider.prepare_chat(dict(orjson.loads(raw)), "claude-sonnet-4-5@20250929")
    assert list(body) == ["anthropic_version", "max_tokens", "messages"]
    assert body["anthropic_version"] == "vertex-2023-10-16"


def test_an_output_limit_above_the_models_is_lowered() -> None:
    body = {"model": "x", "max_tokens": 200_000, "messages": []}
    out = vertex().prepare_chat(body, "claude-opus-4-1@20250805")
    assert out["max_tokens"] == 32_000
    assert "model" not in out


def test_count_tokens_keeps_the_model_and_adds_the_version() -> None:
    body = {"model": "claude-sonnet-4-5@20250929", "messages": []}
    out = vertex().prepare_count_tokens(body, "claude-sonnet-4-5@20250929")
    assert out == {"anthropic_version": "vertex-2023-10-16", **body}


def test_betas_vertex_refuses_are_dropped_and_the_rest_kept_in_order() -> None:
    header = (
        "claude-code-20250219,interleaved-thinking-2025-05-14,prompt-caching-scope-2026-01-05,"
        " context-management-2025-06-27,effort-2025-11-24,web-search-2025-03-05"
    )
    assert vertex_betas(header) == "interleaved-thinking-2025-05-14,context-management-2025-06-27"
    assert vertex_betas("advanced-tool-use-2025-11-20") == "tool-search-tool-2025-10-19"
    assert vertex_betas("claude-code-20250219") == ""


def test_headers_carry_no_anthropic_version_and_only_accepted_betas() -> None:
    client = CIMultiDict(
        {
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "oauth-2025-04-20,context-1m-2025-08-07",
        }
    )
    assert vertex().base_headers(client) == {"anthropic-beta": "context-1m-2025-08-07"}
    assert vertex().base_headers(CIMultiDict({"anthropic-beta": "oauth-2025-04-20"})) == {}


def test_list_prices_and_limits_are_anthropics() -> None:
    facts = vertex().model_facts("claude-sonnet-4-5@20250929")
    assert facts is not None and facts.max_output == 64_000
