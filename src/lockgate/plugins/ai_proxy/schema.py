"""ai-proxy's configuration schema (Kong 3.13 field names), shared with
ai-proxy-advanced's targets."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, model_validator

from lockgate.llm.providers import provider_names
from lockgate.plugins.base import PluginConfig

__all__ = [
    "TUNING_KEYS",
    "AIProxyConfig",
    "AuthConfig",
    "LoggingConfig",
    "ModelConfig",
    "ModelOptions",
]

log = logging.getLogger("lockgate.ai-proxy")

RouteType = Literal[
    "llm/v1/chat",
    "llm/v1/completions",
    "llm/v1/embeddings",
    "preserve",
    "llm/v1/responses",
    "llm/v1/assistants",
    "llm/v1/files",
    "llm/v1/batches",
    "llm/v1/audio/file",
    "llm/v1/audio/transcriptions",
    "llm/v1/audio/translations",
    "llm/v1/audio/speech",
    "llm/v1/image/generations",
    "llm/v1/image/edits",
    "realtime/v1/realtime",
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
        if self.provider not in names:
            raise ValueError("provider: expected one of: " + ", ".join(names))
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


class LoggingConfig(PluginConfig):
    log_statistics: bool = True
    log_payloads: bool = False


#: Client formats Kong knows (lockgate serves SUPPORTED_FORMATS of them).
KongFormat = Literal["openai", "anthropic", "gemini", "bedrock", "cohere", "huggingface"]


def _served_formats_only(value: Any) -> Any:
    # An unknown format's error lists what lockgate serves, not Kong's whole list.
    if isinstance(value, str) and value not in get_args(KongFormat):
        raise ValueError("expected one of: " + ", ".join(SUPPORTED_FORMATS))
    return value


LLMFormat = Annotated[KongFormat, BeforeValidator(_served_formats_only)]


class AIProxyConfig(PluginConfig):
    route_type: RouteType
    llm_format: LLMFormat = "openai"
    model: ModelConfig
    auth: AuthConfig | None = None
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    max_request_body_size: int = Field(1048576, ge=0)
    model_name_header: bool = True
    response_streaming: Literal["allow", "deny", "always"] = "allow"
    genai_category: str = "text/generation"


#: What lockgate serves today; other values validate as Kong's but are refused at apply time.
SUPPORTED_ROUTE_TYPES = ("llm/v1/chat", "llm/v1/embeddings")
SUPPORTED_FORMATS = ("openai", "anthropic")


def unsupported(llm_format: str, route_types: dict[str, str]) -> list[str]:
    """Problems for values Kong accepts that lockgate does not serve yet.

    ``route_types`` maps each config path (``config.route_type``) to its value."""
    problems = []
    if llm_format not in SUPPORTED_FORMATS:
        problems.append(
            f"config.llm_format: '{llm_format}' is not supported by lockgate yet (supported: {', '.join(SUPPORTED_FORMATS)})"
        )
    for path, route_type in route_types.items():
        if route_type not in SUPPORTED_ROUTE_TYPES:
            problems.append(
                f"{path}: '{route_type}' is not supported by lockgate yet (supported: {', '.join(SUPPORTED_ROUTE_TYPES)})"
            )
    return problems


def misplaced_options(raw: dict[str, Any], path: str = "config.model") -> list[str]:
    """Warnings for tuning keys written under ``model`` instead of ``model.options``."""
    model = raw.get("model") if isinstance(raw, dict) else None
    if not isinstance(model, dict):
        return []
    return [
        f"{path}.{key}: belongs under {path}.options; lockgate moved it there (Kong would reject it)"
        for key in TUNING_KEYS
        if key in model
    ]
