"""Anthropic's Messages API."""

from __future__ import annotations

from typing import Any

from lockgate.llm.providers.base import Endpoint, Provider

__all__ = ["AnthropicProvider"]

DEFAULT_URL = "https://api.anthropic.com/v1/messages"
DEFAULT_VERSION = "2023-06-01"
#: Anthropic refuses smaller thinking budgets.
MIN_THINKING_BUDGET = 1024


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

    def output_fields(self, body: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return [(body, "max_tokens")]

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        self.clamp_output(body, model_name)
        # The thinking budget must stay below max_tokens (and at least 1024):
        # a clamped max_tokens may leave no room for the client's budget.
        max_tokens = body.get("max_tokens")
        thinking = body.get("thinking")
        if (
            isinstance(thinking, dict)
            and thinking.get("type") == "enabled"
            and isinstance(thinking.get("budget_tokens"), int)
            and isinstance(max_tokens, int)
            and thinking["budget_tokens"] >= max_tokens
        ):
            if max_tokens > MIN_THINKING_BUDGET:
                body["thinking"] = {**thinking, "budget_tokens": max_tokens - 1}
            else:
                del body["thinking"]
        return body
