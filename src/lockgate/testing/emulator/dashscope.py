"""DashScope (Alibaba Model Studio) in OpenAI-compatible mode.

Quirks kept from the real service: its error envelope (``error`` plus
``request_id``), the ``x-dashscope-call-gateway`` header, ``enable_thinking``
(refused on non-streaming calls, as the service does) with
``reasoning_content`` output, an output-token ceiling per call, and tool
sequence errors worded by its algorithm backend. Output ceilings per model
come from the gateway's table of model facts. The real service ignores
unknown fields; the emulator rejects them (the stricter choice) so a gateway
that forwards Anthropic- or OpenAI-only fields is caught.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from lockgate.llm.providers.models import model_facts

from .openai import ChatProfile, bearer
from .openai_validate import OPENAI_FIELDS, ChatRules
from .responses import ApiError
from .script import Reply, Script

__all__ = ["DashScopeProfile"]

DASHSCOPE_FIELDS = (
    OPENAI_FIELDS
    - {
        "audio", "function_call", "functions", "metadata", "moderation", "prediction",
        "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning_effort",
        "safety_identifier", "service_tier", "store", "verbosity", "web_search_options",
    }
) | {
    "enable_thinking", "thinking_budget", "enable_search", "search_options", "top_k",
    "repetition_penalty", "result_format", "incremental_output", "vl_high_resolution_images",
    "translation_options", "enable_code_interpreter", "audio",
}  # fmt: skip
_MODEL = re.compile(
    r"^(qwen|qwq|qvq|deepseek|kimi|moonshot|glm|llama|baichuan|yi-|minimax|abab)", re.I
)
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). "
)


class DashScopeProfile(ChatProfile):
    name = "dashscope"
    rules = ChatRules(
        fields=frozenset(DASHSCOPE_FIELDS),
        user_parts=("text", "image_url", "input_audio", "video_url", "video"),
        assistant_fields=frozenset({"reasoning_content", "partial"}),
        algo_prefix="<400> InternalError.Algo.InvalidParameter: ",
        max_tool_call_id=None,
        max_user=None,
    )
    obfuscation = False

    def error(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiError:
        request_id = str(uuid.uuid4())
        body = {
            "error": {"message": message, "type": type_, "param": param, "code": code},
            "id": "chatcmpl-" + request_id,
            "request_id": request_id,
        }
        return ApiError(status, body, {**self.headers(), **(headers or {})})

    def bad_request(self, message: str, param: str | None, code: str | None) -> ApiError:
        return self.error(
            400, message, "invalid_request_error", param, code or "invalid_parameter_error"
        )

    def parse_error(self) -> ApiError:
        return self.bad_request("Input should be a valid JSON object.", None, None)

    def authenticate(self, request: web.Request) -> None:
        key = bearer(request)
        if not key:
            raise self.error(401, _NO_KEY, code="invalid_api_key")
        if not self.state.key_accepted(self.name, key):
            raise self.error(
                401,
                "Incorrect API key provided. For details, see: "
                "https://www.alibabacloud.com/help/en/model-studio/error-code#apikey-error",
                code="invalid_api_key",
            )

    def check_model(self, model: str) -> None:
        if not _MODEL.match(model):
            raise self.error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )

    @staticmethod
    def thinking_enabled(body: dict[str, Any]) -> bool:
        model = body["model"].lower()
        if model.startswith("qwq") or "thinking" in model:
            return True
        default = (
            model.startswith("qwen3-")
            and "instruct" not in model
            and not model.startswith("qwen3-max")
        )
        return bool(body.get("enable_thinking", default))

    def check_params(self, body: dict[str, Any]) -> None:
        value = body.get("enable_thinking")
        if value is not None and not isinstance(value, bool):
            raise self.bad_request("parameter.enable_thinking should be boolean", None, None)
        if body["model"].lower().startswith("qwq") and not body.get("stream"):
            raise self.bad_request(
                "This model only support stream mode, please enable the stream parameter to access the model. ",
                None,
                None,
            )
        thinking = self.thinking_enabled(body)
        if thinking and not body.get("stream"):
            raise self.bad_request(
                "parameter.enable_thinking must be set to false for non-streaming calls", None, None
            )
        facts = model_facts(self.name, body["model"])
        ceiling = facts.output_limit(thinking) if facts is not None else None
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if ceiling is not None and isinstance(limit, int) and limit > ceiling:
            raise self.bad_request(
                f"Range of max_tokens should be [1, {ceiling}]", "max_tokens", None
            )

    def check_output_limit(self, body: dict[str, Any]) -> None:
        """Checked with the other parameters (the ceiling depends on thinking)."""

    def failure(self, status: int, model: str) -> ApiError:
        if status == 429:
            return self.error(
                429,
                "Requests rate limit exceeded, please try again later.",
                "limit_requests",
                code="limit_requests",
                headers={"retry-after": "1"},
            )
        if status == 500:
            return self.error(
                500,
                "An internal error has occured, please try again later or contact service support.",
                "internal_error",
                code="internal_error",
            )
        if status == 503:
            return self.error(
                503,
                "The service is temporarily unavailable, please retry later.",
                "ServiceUnavailable",
                code="ServiceUnavailable",
            )
        return super().failure(status, model)

    def context_overflow(self, body: dict[str, Any], prompt: int, window: int) -> ApiError:
        # DashScope names the accepted input range, never the prompt's size.
        return self.bad_request(
            f"{self.rules.algo_prefix}Range of input length should be [1, {window}]", None, None
        )

    def thinks(self, body: dict[str, Any], script: Script) -> bool:
        return self.thinking_enabled(body)

    def hidden_reasoning(self, body: dict[str, Any]) -> int:
        return 0

    def usage(self, prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return usage

    def cached_tokens(self, body: dict[str, Any]) -> int:
        cache = self.state.cache(self.name, minimum=256)
        return cache.automatic(body["model"], [body.get("tools"), *body["messages"]])

    def headers(self) -> dict[str, str]:
        return {
            "x-dashscope-call-gateway": "true",
            "x-request-id": str(uuid.uuid4()),
            "req-cost-time": "120",
        }

    def envelope(self) -> dict[str, Any]:
        return {"system_fingerprint": None}

    def message_extras(self, reply: Reply) -> dict[str, Any]:
        return {}
