"""A configured model: provider, credentials, options and the format pair.

Built once per configuration version (ai-proxy has one, ai-proxy-advanced one
per target), so requests only look things up.
"""

from __future__ import annotations

from typing import Any

from lockgate.llm.conversions import Conversion, conversion
from lockgate.llm.providers import Provider, build_provider
from lockgate.llm.providers.base import Endpoint
from lockgate.llm.providers.config import AuthConfig, ModelConfig
from lockgate.llm.usage import Usage, usage_cost
from lockgate.plugins.ai_proxy.schema import LoggingConfig

__all__ = ["Target"]


class Target:
    def __init__(
        self,
        *,
        plugin_id: str,
        client_format: str,
        route_type: str,
        model: ModelConfig,
        auth: AuthConfig | None,
        logging: LoggingConfig,
        weight: int = 100,
        description: str | None = None,
        index: int = 0,
        plugin_name: str = "ai-proxy",
        config_path: str = "config",
    ) -> None:
        self.plugin_id = plugin_id
        #: Where this target's settings live, for errors that name a field
        #: (``ai-proxy-advanced``, ``config.targets[1]``).
        self.plugin_name = plugin_name
        self.config_path = config_path
        self.client_format = client_format
        self.route_type = route_type
        self.model = model
        self.auth = auth
        self.logging = logging
        self.weight = weight
        self.description = description
        self.index = index
        self.provider: Provider = build_provider(model, auth)
        #: The format spoken upstream: OpenAI's own Responses API for a
        #: Responses route on a provider that has one, else the provider's wire.
        self.upstream_format = (
            "responses"
            if route_type == "llm/v1/responses" and self.provider.serves_responses
            else self.provider.wire
        )
        self.conversion: Conversion = conversion(client_format, self.upstream_format)
        options = model.options
        #: Tuning values that override the client's, in the client's own field names.
        self.overrides: dict[str, Any] = {}
        if options is not None:
            for key in ("max_tokens", "temperature", "top_p", "top_k"):
                value = getattr(options, key)
                if value is not None:
                    self.overrides[key] = value
        self.input_cost = (options.input_cost if options else None) or 0.0
        self.output_cost = (options.output_cost if options else None) or 0.0
        #: Costs the operator typed in win over list prices (even a lone one, as in Kong).
        self.priced = bool(
            options and (options.input_cost is not None or options.output_cost is not None)
        )
        self.allow_override = bool(auth and auth.allow_override)

    @property
    def provider_name(self) -> str:
        return self.provider.name

    def cost(self, usage: Usage, model: str | None) -> tuple[float, str]:
        """The call's cost in dollars and where its prices came from:
        ``configured`` (model.options), ``list_price`` (the table of model
        facts) or ``unpriced`` (neither: 0)."""
        if self.priced:
            return usage_cost(usage, self.input_cost, self.output_cost), "configured"
        facts = self.provider.model_facts(model) if model else None
        price = facts.price if facts is not None else None
        if price is None:
            return 0.0, "unpriced"
        cost = usage_cost(usage, price.input, price.output, price.cached_input, price.cache_write)
        return cost, "list_price"

    def chat_endpoint(self, model: str, stream: bool) -> Endpoint:
        if self.upstream_format == "responses":
            return self.provider.responses_endpoint(model)
        return self.provider.chat_endpoint(model, stream)

    def resolve_model(self, requested: str | None) -> str | None:
        """The upstream model for a request naming ``requested`` (None when unset everywhere)."""
        return self.model.name or requested

    def conflicts(self, requested: str | None) -> bool:
        """Kong's rule: a configured model name forbids the client naming another."""
        name = self.model.name
        return bool(
            name and requested and requested != name and requested != self.model.model_alias
        )

    def describe(self) -> str:
        return f"{self.provider.name}/{self.model.name or '*'}"
