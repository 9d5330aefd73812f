"""LLM providers: one module each, one registry naming them all.

A provider knows its endpoints, how it authenticates, which wire format it
speaks (``openai``, ``anthropic``, ``gemini`` or ``bedrock``) and its parameter quirks.
Translation between formats lives in :mod:`lockgate.llm.wire`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from lockgate.llm.providers.base import Provider

if TYPE_CHECKING:
    from lockgate.llm.providers.config import AuthConfig, ModelConfig

__all__ = ["Provider", "build_provider", "provider_class", "provider_names"]


@cache
def _registry() -> dict[str, type[Provider]]:
    from lockgate.llm.providers.anthropic import AnthropicProvider
    from lockgate.llm.providers.bedrock import BedrockProvider
    from lockgate.llm.providers.gemini import GeminiProvider
    from lockgate.llm.providers.openai_compat import OPENAI_COMPATIBLE

    classes: list[type[Provider]] = [
        AnthropicProvider,
        BedrockProvider,
        GeminiProvider,
        *OPENAI_COMPATIBLE,
    ]
    return {c.name: c for c in classes}


def provider_names() -> list[str]:
    return sorted(_registry())


def provider_class(name: str) -> type[Provider]:
    return _registry()[name]


def build_provider(model: ModelConfig, auth: AuthConfig | None) -> Provider:
    """The provider serving a configured model. Kong's shape for Claude on
    Vertex AI is ``provider: gemini`` with a Claude model name: that one
    speaks Anthropic's format to ``publishers/anthropic``."""
    if model.provider == "gemini":
        from lockgate.llm.providers.vertex_anthropic import VertexAnthropicProvider, is_claude

        if is_claude(model.name):
            return VertexAnthropicProvider(model, auth)
    return provider_class(model.provider)(model, auth)
