"""OpenAI and the providers that speak its Chat Completions API.

Each is a few lines: its default URL and the quirks that differ.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from lockgate.llm.providers.base import Endpoint, Provider
from lockgate.llm.wire.tool_identifiers import mistral_tool_id

__all__ = ["OPENAI_COMPATIBLE", "OpenAICompatible"]


class OpenAICompatible(Provider):
    wire = "openai"
    default_url: ClassVar[str] = ""
    default_embeddings_url: ClassVar[str | None] = None
    #: Whether ``reasoning_effort`` may be sent (else it is dropped).
    accepts_reasoning_effort: ClassVar[bool] = False

    def chat_url(self, model_name: str) -> str:
        if self.options and self.options.upstream_url:
            return self.options.upstream_url
        return self.default_url

    def chat_endpoint(self, model_name: str, stream: bool) -> Endpoint:
        return Endpoint.parse(self.chat_url(model_name))

    def embeddings_endpoint(self, model_name: str) -> Endpoint | None:
        if self.options and self.options.upstream_url:
            url = self.options.upstream_url
            return Endpoint.parse(url.replace("/chat/completions", "/embeddings"))
        return Endpoint.parse(self.default_embeddings_url) if self.default_embeddings_url else None

    def reasoning_model(self, model_name: str) -> bool:
        return self.accepts_reasoning_effort

    def output_fields(self, body: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        # max_output_tokens: a Responses API body (OpenAI and Azure).
        return [(body, "max_tokens"), (body, "max_completion_tokens"), (body, "max_output_tokens")]

    def responses_endpoint(self, model_name: str) -> Endpoint:
        # A configured URL names the Chat endpoint (Kong's upstream_url); the
        # Responses API sits beside it.
        url = self.chat_url(model_name).replace("/chat/completions", "/responses")
        return Endpoint.parse(url)

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        if "reasoning_effort" in body and not self.reasoning_model(model_name):
            del body["reasoning_effort"]
        self.clamp_output(body, model_name)
        return body


def _is_openai_reasoning(model: str) -> bool:
    """For model names the table does not know (e.g. Azure deployments)."""
    base = model.rsplit("/", 1)[-1]
    return base.startswith(("gpt-5", "o1", "o3", "o4"))


class OpenAIProvider(OpenAICompatible):
    name = "openai"
    serves_responses = True
    default_url = "https://api.openai.com/v1/chat/completions"
    default_embeddings_url = "https://api.openai.com/v1/embeddings"

    def reasoning_model(self, model_name: str) -> bool:
        facts = self.model_facts(model_name)
        if facts is not None:
            return facts.reasoning == "effort"
        return _is_openai_reasoning(model_name)

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        body = super().prepare_chat(body, model_name)
        facts = self.model_facts(model_name)
        if facts is not None:
            renames = facts.output_param == "max_completion_tokens"
            default_sampling = facts.sampling == "default_only"
        else:
            renames = default_sampling = _is_openai_reasoning(model_name)
        if renames and "max_tokens" in body:
            # Reasoning models refuse max_tokens.
            body["max_completion_tokens"] = body.pop("max_tokens")
        if default_sampling:
            if body.get("temperature") not in (None, 1):
                del body["temperature"]
            body.pop("top_p", None)
        return body


class HuggingFaceProvider(OpenAICompatible):
    name = "huggingface"
    default_url = "https://router.huggingface.co/v1/chat/completions"

    def output_limit(self, body: dict[str, Any], model_name: str) -> int | None:
        # The serving engines behind the router (vLLM, TGI) refuse a request
        # whose input plus max_tokens exceeds the context window, and Claude
        # Code's 32000 alone nearly fills a 40960-token Qwen3. The input is
        # estimated generously (three bytes a token); a prompt that already
        # overflows is left for the provider to refuse as too long.
        facts = self.model_facts(model_name)
        if facts is None or facts.context_window is None:
            return None
        if facts.max_output is not None:
            return facts.max_output
        room = facts.context_window - len(orjson.dumps(body)) // 3
        return room if room > 0 else None

    def base_headers(self, client_headers: Any) -> dict[str, str]:
        hf = self.options.huggingface if self.options else None
        headers: dict[str, str] = {}
        if hf is not None:
            if hf.use_cache is not None:
                headers["x-use-cache"] = "true" if hf.use_cache else "false"
            if hf.wait_for_model is not None:
                headers["x-wait-for-model"] = "true" if hf.wait_for_model else "false"
        return headers


class DashScopeProvider(OpenAICompatible):
    name = "dashscope"

    def chat_url(self, model_name: str) -> str:
        if self.options and self.options.upstream_url:
            return self.options.upstream_url
        international = True
        if self.options and self.options.dashscope is not None:
            international = self.options.dashscope.international
        host = "dashscope-intl.aliyuncs.com" if international else "dashscope.aliyuncs.com"
        return f"https://{host}/compatible-mode/v1/chat/completions"

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        # Qwen turns thinking on with its own flag rather than reasoning_effort,
        # and refuses thinking on non-streamed calls (some qwen3 models think
        # by default, so it must be turned off explicitly there).
        effort = body.pop("reasoning_effort", None)
        if model_name.startswith(("qwen3", "qwen-plus", "qwen-flash", "qwen-turbo", "qwq")):
            if not body.get("stream"):
                body["enable_thinking"] = False
            elif effort is not None:
                body["enable_thinking"] = True
        return super().prepare_chat(body, model_name)

    def output_limit(self, body: dict[str, Any], model_name: str) -> int | None:
        # A thinking call may produce more (qwen-plus: 32768 rather than 16384).
        facts = self.model_facts(model_name)
        if facts is None:
            return None
        return facts.output_limit(thinking=bool(body.get("enable_thinking")))


class AzureProvider(OpenAICompatible):
    name = "azure"
    serves_responses = True

    def responses_endpoint(self, model_name: str) -> Endpoint:
        if self.options and self.options.upstream_url:
            return super().responses_endpoint(model_name)
        opts = self.options
        instance = opts.azure_instance if opts else None
        # Azure serves the Responses API at the resource, not per deployment,
        # and only from 2025 API versions.
        version = (opts.azure_api_version if opts else None) or "2025-04-01-preview"
        return Endpoint.parse(
            f"https://{instance}.openai.azure.com/openai/responses?api-version={version}"
        )

    def chat_url(self, model_name: str) -> str:
        if self.options and self.options.upstream_url:
            return self.options.upstream_url
        opts = self.options
        instance = opts.azure_instance if opts else None
        deployment = (opts.azure_deployment_id if opts else None) or model_name
        version = (opts.azure_api_version if opts else None) or "2023-05-15"
        return f"https://{instance}.openai.azure.com/openai/deployments/{deployment}/chat/completions?api-version={version}"

    def reasoning_model(self, model_name: str) -> bool:
        return _is_openai_reasoning(model_name)


class MistralProvider(OpenAICompatible):
    name = "mistral"
    default_url = "https://api.mistral.ai/v1/chat/completions"
    default_embeddings_url = "https://api.mistral.ai/v1/embeddings"
    passthrough_quirks = True  # OpenAI clients send what Mistral refuses

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        """Mistral answers 422 ``extra_forbidden`` to fields its schema lacks and
        400 to tool call ids that are not nine letters or digits."""
        body = super().prepare_chat(body, model_name)
        body.pop("stream_options", None)  # the last chunk carries usage unasked
        body.pop("user", None)
        completion = body.pop("max_completion_tokens", None)
        if completion is not None:
            body.setdefault("max_tokens", completion)
        if "seed" in body:
            body["random_seed"] = body.pop("seed")
        messages = body.get("messages")
        if isinstance(messages, list):
            body["messages"] = [_mistral_message(m) for m in messages]
        return body


#: Message fields Mistral defines, by role (others are refused).
_MISTRAL_MESSAGE_FIELDS = {
    "system": ("role", "content"),
    "user": ("role", "content"),
    "assistant": ("role", "content", "tool_calls", "prefix"),
    "tool": ("role", "content", "tool_call_id", "name"),
}


def _mistral_message(message: Any) -> Any:
    """A copy of a message with only the fields Mistral defines and its tool
    call ids rewritten the same way on both sides of a call."""
    if not isinstance(message, dict):
        return message
    fields = _MISTRAL_MESSAGE_FIELDS.get(message.get("role"))  # type: ignore[arg-type]
    out = {k: v for k, v in message.items() if k in fields} if fields else dict(message)
    if isinstance(out.get("tool_call_id"), str):
        out["tool_call_id"] = mistral_tool_id(out["tool_call_id"])
    calls = out.get("tool_calls")
    if isinstance(calls, list):
        out["tool_calls"] = [
            {**c, "id": mistral_tool_id(c["id"])}
            if isinstance(c, dict) and isinstance(c.get("id"), str)
            else c
            for c in calls
        ]
    return out


class XAIProvider(OpenAICompatible):
    name = "xai"
    default_url = "https://api.x.ai/v1/chat/completions"

    def reasoning_model(self, model_name: str) -> bool:
        return model_name.startswith("grok-3-mini")


class DeepSeekProvider(OpenAICompatible):
    name = "deepseek"
    default_url = "https://api.deepseek.com/chat/completions"
    passthrough_quirks = True  # OpenAI clients drop reasoning_content too

    def prepare_chat(self, body: dict[str, Any], model_name: str) -> dict[str, Any]:
        """In thinking mode DeepSeek refuses a tool-call turn whose assistant
        messages come back without ``reasoning_content``. Neither Anthropic
        clients (their thinking blocks are not DeepSeek's) nor most OpenAI
        clients send it, so a placeholder stands in for what was not kept."""
        body = super().prepare_chat(body, model_name)
        thinking = body.get("thinking")
        disabled = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        thinks = model_name == "deepseek-reasoner" or (
            model_name.startswith("deepseek-v") and not disabled
        )
        messages = body.get("messages")
        if thinks and isinstance(messages, list):
            body["messages"] = _with_reasoning_passed_back(messages)
        return body


#: What DeepSeek gets back as the reasoning of a tool-call step the client did not keep.
DEEPSEEK_REASONING_PLACEHOLDER = "(The reasoning for this step was not kept.)"


def _with_reasoning_passed_back(messages: list[Any]) -> list[Any]:
    """Assistant tool-call messages since the last user message, each with a
    ``reasoning_content`` (copies; the client's own list is not changed)."""
    last_user = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"),
        default=-1,
    )
    out = list(messages)
    for i in range(last_user + 1, len(out)):
        message = out[i]
        if (
            isinstance(message, dict)
            and message.get("role") == "assistant"
            and message.get("tool_calls")
            and not isinstance(message.get("reasoning_content"), str)
        ):
            out[i] = {**message, "reasoning_content": DEEPSEEK_REASONING_PLACEHOLDER}
    return out


class CerebrasProvider(OpenAICompatible):
    name = "cerebras"
    default_url = "https://api.cerebras.ai/v1/chat/completions"


class OllamaProvider(OpenAICompatible):
    name = "ollama"
    default_url = "http://127.0.0.1:11434/v1/chat/completions"
    default_embeddings_url = "http://127.0.0.1:11434/v1/embeddings"


class VLLMProvider(OpenAICompatible):
    name = "vllm"
    default_url = "http://127.0.0.1:8000/v1/chat/completions"


OPENAI_COMPATIBLE: tuple[type[OpenAICompatible], ...] = (
    OpenAIProvider,
    HuggingFaceProvider,
    DashScopeProvider,
    AzureProvider,
    MistralProvider,
    XAIProvider,
    DeepSeekProvider,
    CerebrasProvider,
    OllamaProvider,
    VLLMProvider,
)
