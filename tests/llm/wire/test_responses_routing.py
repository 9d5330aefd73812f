"""Where a Responses API request goes: OpenAI's and Azure's own Responses
endpoints for passthrough, a translation elsewhere, and the configurations
apply refuses."""

from __future__ import annotations

import pytest

from lockgate.llm.providers.config import ModelConfig
from lockgate.plugins.ai_proxy.schema import LoggingConfig, client_format_for, responses_problems
from lockgate.plugins.ai_proxy.target import Target


def _target(provider: str, route_type: str = "llm/v1/responses", **options: object) -> Target:
    model = ModelConfig.model_validate(
        {"provider": provider, "name": "some-model", "options": options or None}
    )
    return Target(
        plugin_id="p",
        client_format=client_format_for("openai", route_type),
        route_type=route_type,
        model=model,
        auth=None,
        logging=LoggingConfig(),
    )


def test_openai_serves_its_own_responses_api_byte_for_byte() -> None:
    target = _target("openai")
    assert target.upstream_format == "responses" and target.conversion.passthrough
    assert target.chat_endpoint("gpt-5", True).url == "https://api.openai.com/v1/responses"
    local = _target("openai", upstream_url="http://127.0.0.1:9100/openai/v1/chat/completions")
    assert local.chat_endpoint("gpt-5", False).url == "http://127.0.0.1:9100/openai/v1/responses"


def test_azure_serves_it_at_the_resource() -> None:
    target = _target("azure", azure_instance="team", azure_api_version="2025-04-01-preview")
    assert target.conversion.passthrough
    assert target.chat_endpoint("gpt-5", True).url == (
        "https://team.openai.azure.com/openai/responses?api-version=2025-04-01-preview"
    )


@pytest.mark.parametrize(
    ("provider", "upstream"),
    [
        ("anthropic", "anthropic"),
        ("dashscope", "openai"),
        ("huggingface", "openai"),
        ("mistral", "openai"),
    ],
)
def test_other_providers_get_a_translation(provider: str, upstream: str) -> None:
    target = _target(provider)
    assert target.upstream_format == upstream
    assert not target.conversion.passthrough
    conv = target.conversion
    assert (conv.client, conv.upstream) == ("responses", upstream)
    assert conv.request is not None and conv.stream is not None


def test_chat_routes_are_unchanged() -> None:
    target = _target("openai", route_type="llm/v1/chat")
    assert target.client_format == "openai" and target.upstream_format == "openai"
    assert target.chat_endpoint("gpt-5", True).url == "https://api.openai.com/v1/chat/completions"


def test_apply_time_problems() -> None:
    assert client_format_for("anthropic", "llm/v1/responses") == "anthropic"
    assert responses_problems("openai", {"config.route_type": "llm/v1/responses"}) == []
    assert responses_problems("anthropic", {"config.route_type": "llm/v1/responses"}) == [
        "config.route_type: llm/v1/responses needs llm_format 'openai'"
    ]
    assert responses_problems(
        "openai",
        {
            "config.targets.0.route_type": "llm/v1/chat",
            "config.targets.1.route_type": "llm/v1/responses",
        },
    ) == [
        "config.targets.0.route_type: every target must use llm/v1/responses when one does "
        "(config.targets.1.route_type does)"
    ]
