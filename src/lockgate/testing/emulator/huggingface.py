"""The HuggingFace inference router (OpenAI-compatible chat completions).

Model ids are Hub repositories (``meta-llama/Llama-3.3-70B-Instruct``, with
an optional ``:provider`` suffix). The real router forwards unknown fields to
the inference provider, whose reaction varies; the emulator takes the stricter
path and rejects fields outside the router's documented schema, so a gateway
that leaks Anthropic-only fields is caught.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from lockgate.llm.providers.models import model_facts

from .openai import ChatProfile, bearer
from .openai_validate import ChatRules
from .responses import ApiError
from .script import Reply, Script
from .tokens import json_tokens

__all__ = ["HuggingFaceProfile"]

HF_FIELDS = frozenset(
    {
        "messages", "model", "frequency_penalty", "logit_bias", "logprobs", "max_tokens",
        "max_completion_tokens", "n", "presence_penalty", "response_format", "seed", "stop",
        "stream", "stream_options", "temperature", "tool_choice", "tool_prompt", "tools",
        "top_logprobs", "top_p", "reasoning_effort", "parallel_tool_calls", "user",
    }
)  # fmt: skip
_MODEL = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+(:[\w.\-]+)?$")
_REASONER = re.compile(r"(deepseek-r1|qwen3|qwq|gpt-oss|thinking|magistral)", re.I)


class HuggingFaceProfile(ChatProfile):
    name = "huggingface"
    rules = ChatRules(
        fields=HF_FIELDS,
        assistant_fields=frozenset({"reasoning_content"}),
        max_tool_call_id=None,
        max_user=None,
    )
    obfuscation = False

    def authenticate(self, request: web.Request) -> None:
        key = bearer(request)
        if not self.state.key_accepted(self.name, key):
            raise ApiError(401, {"error": "Invalid credentials in Authorization header"})

    def check_model(self, model: str) -> None:
        if not _MODEL.match(model):
            raise self.bad_request(
                f"The requested model '{model}' is not supported by any provider you have enabled.",
                "model",
                "model_not_supported",
            )

    def check_params(self, body: dict[str, Any]) -> None:
        if body.get("reasoning_effort") is not None and "llama" in body["model"].lower():
            raise self.bad_request(
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                "reasoning_effort",
                "unsupported_parameter",
            )

    def check_output_limit(self, body: dict[str, Any]) -> None:
        """vLLM's rule (and its words): input plus max_tokens must fit the
        model's context window, from the gateway's table of model facts."""
        facts = model_facts(self.name, body["model"])
        context = facts.context_window if facts is not None else None
        asked = body.get("max_completion_tokens") or body.get("max_tokens")
        if context is None or not isinstance(asked, int):
            return
        prompt = json_tokens([body.get("tools"), body["messages"]])
        if prompt + asked > context:
            raise self.bad_request(
                f"'max_tokens' or 'max_completion_tokens' is too large: {asked}. This model's "
                f"maximum context length is {context} tokens and your request has {prompt} "
                f"input tokens ({asked} > {context} - {prompt}).",
                None,
                None,
            )

    def failure(self, status: int, model: str) -> ApiError:
        if status == 429:
            return self.error(
                429,
                "Rate limit reached. Please retry later.",
                "rate_limit_error",
                headers={"retry-after": "1"},
            )
        return super().failure(status, model)

    def context_overflow(self, body: dict[str, Any], prompt: int, window: int) -> ApiError:
        # The router passes on the serving engine's error; vLLM's is the common one.
        completion = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        message = (
            f"This model's maximum context length is {window} tokens. However, you requested "
            f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the "
            "completion). Please reduce the length of the messages or completion."
        )
        body_out = {
            "object": "error",
            "message": message,
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
        return ApiError(400, body_out)

    def thinks(self, body: dict[str, Any], script: Script) -> bool:
        return bool(_REASONER.search(body["model"])) and body.get("reasoning_effort") != "none"

    def hidden_reasoning(self, body: dict[str, Any]) -> int:
        return 0

    def usage(self, prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def cached_tokens(self, body: dict[str, Any]) -> int:
        return 0

    def headers(self) -> dict[str, str]:
        return {"x-request-id": secrets.token_hex(16), "x-inference-provider": "emulator"}

    def envelope(self) -> dict[str, Any]:
        return {"system_fingerprint": "lockgate-emulator"}

    def message_extras(self, reply: Reply) -> dict[str, Any]:
        return {}
