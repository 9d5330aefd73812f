"""Anthropic's Messages API."""

from __future__ import annotations

from typing import Any

from lockgate.llm.providers.base import Endpoint, Provider

__all__ = ["AnthropicProvider"]

DEFAULT_URL = "https://api.anthropic.com/v1/messages"
DEFAULT_VERSION = "2023-06-01"


class AnthropicProvider(Provider):
    name = "anthropic"
    wire = "anthropic"

    def _url(self) -> str:
        if self.options and self.options.upstream_url:
            return self.options.upstream_url
        return DEFAULT_URL

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
        return Endpoint.parse(self._url())

    def count_tokens_endpoint(self, model_name: str) -> Endpoint | None:
        url = self._url()
        base, _, query = url.partition("?")
        base = base.rstrip("/")
        if not base.endswith("/count_tokens"):
            base += "/count_tokens"
        return Endpoint.parse(base + ("?" + query if query else ""))

    def base_headers(self, client_headers: Any) -> dict[str, str]:
        version = (self.options.anthropic_version if self.options else None) or client_headers.get(
            "anthropic-version", DEFAULT_VERSION
        )
        headers = {"anthropic-version": version}
        beta = client_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
        return headers
