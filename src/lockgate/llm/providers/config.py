"""How a provider is configured: the ``model`` and ``auth`` blocks of Kong's
ai-proxy (and of each ai-proxy-advanced target), Kong 3.13 field names.

They live with the providers that read them; the plugins' schemas embed them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from lockgate.config.plugin_schema import PluginConfig
from lockgate.llm.providers import provider_names

__all__ = [
    "TUNING_KEYS",
    "AuthConfig",
    "BedrockOptions",
    "DashScopeOptions",
    "GeminiOptions",
    "HuggingFaceOptions",
    "ModelConfig",
    "ModelOptions",
]

#: Tuning keys that belong under ``model.options`` (some tutorials put them under ``model``).
TUNING_KEYS = ("max_tokens", "temperature", "top_p", "top_k", "input_cost", "output_cost")


class GeminiOptions(PluginConfig):
    api_endpoint: str | None = None
    project_id: str | None = None
    location_id: str | None = None
    endpoint_id: str | None = None


class HuggingFaceOptions(PluginConfig):
    use_cache: bool | None = None
    wait_for_model: bool | None = None


class DashScopeOptions(PluginConfig):
    international: bool = True


class BedrockOptions(PluginConfig):
    aws_region: str | None = None
    aws_assume_role_arn: str | None = None
    aws_role_session_name: str | None = None
    aws_sts_endpoint_url: str | None = None
    #: Titan Text Embeddings' ``normalize`` (unset: not sent; Titan's default is true).
    embeddings_normalize: bool | None = None


class ModelOptions(PluginConfig):
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=5)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0, le=500)
    input_cost: float | None = Field(None, ge=0)
    output_cost: float | None = Field(None, ge=0)
    anthropic_version: str | None = None
    upstream_url: str | None = None
    upstream_path: str | None = None
    azure_instance: str | None = None
    azure_deployment_id: str | None = None
    azure_api_version: str | None = "2023-05-15"
    mistral_format: Literal["openai", "ollama"] | None = None
    llama2_format: Literal["raw", "openai", "ollama"] | None = None
    embeddings_dimensions: int | None = None
    gemini: GeminiOptions | None = None
    huggingface: HuggingFaceOptions | None = None
    dashscope: DashScopeOptions | None = None
    bedrock: BedrockOptions | None = None


#: Kong 3.13's ai-proxy providers (kong/llm/schemas/init.lua).
KONG_PROVIDERS = (
    "openai",
    "azure",
    "anthropic",
    "cohere",
    "mistral",
    "llama2",
    "gemini",
    "bedrock",
    "huggingface",
)
#: What to use instead of a Kong provider lockgate does not serve.
UNSERVED_HINTS = {
    "llama2": "; a Llama server with an OpenAI-compatible API (llama2_format: openai) is "
    "provider openai, vllm or ollama with model.options.upstream_url",
}


class ModelConfig(PluginConfig):
    provider: str
    name: str | None = None
    model_alias: str | None = None
    options: ModelOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _forgive_misplaced_options(cls, data: Any) -> Any:
        # The Gemini tutorial writes ``model.max_tokens``; Kong would reject it.
        # lockgate moves tuning keys into ``model.options`` (see misplaced_options()).
        if isinstance(data, dict) and any(k in data for k in TUNING_KEYS):
            data = dict(data)
            options = dict(data.get("options") or {})
            for key in TUNING_KEYS:
                if key in data:
                    value = data.pop(key)
                    options.setdefault(key, value)
            data["options"] = options
        return data

    @model_validator(mode="after")
    def _known_provider(self) -> ModelConfig:
        names = provider_names()
        if self.provider in names:
            return self
        supported = ", ".join(names)
        if self.provider in KONG_PROVIDERS:
            # A provider of Kong's that lockgate chose not to serve (README,
            # "Not supported yet"): say so, and what to use instead.
            hint = UNSERVED_HINTS.get(self.provider, "")
            raise ValueError(
                f"provider: '{self.provider}' is a Kong provider that lockgate does not serve "
                f"(supported: {supported}){hint}"
            )
        raise ValueError("provider: expected one of: " + supported)

    @model_validator(mode="after")
    def _claude_on_vertex_has_a_project(self) -> ModelConfig:
        from lockgate.llm.providers.vertex_anthropic import is_claude

        if self.provider == "gemini" and is_claude(self.name):
            options = self.options
            gemini = options.gemini if options else None
            if not (gemini and gemini.project_id) and not (options and options.upstream_url):
                # Claude is served only on Vertex AI, whose URLs name the project.
                raise ValueError(
                    f"options.gemini.project_id: required for the Claude model '{self.name}' "
                    "(Claude is served by Vertex AI, under a project)"
                )
        return self


class AuthConfig(PluginConfig):
    header_name: str | None = None
    header_value: str | None = None
    param_name: str | None = None
    param_value: str | None = None
    param_location: Literal["query", "body"] | None = None
    allow_override: bool = False
    azure_use_managed_identity: bool = False
    azure_client_id: str | None = None
    azure_client_secret: str | None = None
    azure_tenant_id: str | None = None
    gcp_use_service_account: bool = False
    gcp_service_account_json: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
