"""ai-proxy's configuration schema (Kong 3.13 field names), shared with
ai-proxy-advanced's targets."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field

from lockgate.llm.providers.config import TUNING_KEYS, AuthConfig, ModelConfig
from lockgate.plugins.base import PluginConfig

__all__ = [
    "AIProxyConfig",
    "LoggingConfig",
    "client_format_for",
    "misplaced_options",
    "responses_problems",
    "unsupported",
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
SUPPORTED_ROUTE_TYPES = ("llm/v1/chat", "llm/v1/embeddings", "llm/v1/responses")
SUPPORTED_FORMATS = ("openai", "anthropic", "gemini")


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


def client_format_for(llm_format: str, route_type: str) -> str:
    """The internal client format: an OpenAI client on ``llm/v1/responses``
    speaks the Responses API (``"responses"``), not Chat Completions."""
    if llm_format == "openai" and route_type == "llm/v1/responses":
        return "responses"
    return llm_format


def responses_problems(llm_format: str, route_types: dict[str, str]) -> list[str]:
    """``llm/v1/responses`` is the OpenAI Responses API: it needs OpenAI
    clients, and a plugin's targets all serve it or none does (one request
    is parsed once, whichever target the balancer picks)."""
    responses = [path for path, kind in route_types.items() if kind == "llm/v1/responses"]
    if not responses:
        return []
    problems = []
    if llm_format != "openai":
        problems.append(f"{responses[0]}: llm/v1/responses needs llm_format 'openai'")
    if len(responses) != len(route_types):
        others = [path for path in route_types if path not in responses]
        problems.append(
            f"{others[0]}: every target must use llm/v1/responses when one does "
            f"({responses[0]} does)"
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
