"""DeepSeek's chat completions (``https://api.deepseek.com/chat/completions``).

OpenAI-shaped. What differs, and breaks gateways that treat it as OpenAI:
in thinking mode (``deepseek-reasoner`` always, ``deepseek-v4-*`` unless
``thinking.type`` is ``disabled``) the answer carries ``reasoning_content``,
and every assistant message with ``tool_calls`` since the last user message
must carry its ``reasoning_content`` back, or the request is refused (400
"The `reasoning_content` in the thinking mode must be passed back to the
API."). Cache hits are reported as ``prompt_cache_hit_tokens``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from .openai import ChatProfile
from .openai_validate import OPENAI_FIELDS, ChatRules
from .script import Reply, Script

__all__ = ["DeepSeekProfile"]

_MODEL = re.compile(r"^deepseek-(chat|reasoner|v\d)")
_PASS_BACK = "The `reasoning_content` in the thinking mode must be passed back to the API."


class DeepSeekProfile(ChatProfile):
    name = "deepseek"
    rules = ChatRules(
        fields=OPENAI_FIELDS | {"thinking"},
        assistant_fields=frozenset({"reasoning_content", "prefix"}),
        max_tool_call_id=None,
        max_user=None,
    )
    obfuscation = False

    @staticmethod
    def thinking_mode(body: dict[str, Any]) -> bool:
        model = str(body.get("model", ""))
        if model == "deepseek-reasoner":
            return True
        thinking = body.get("thinking")
        disabled = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        return model.startswith("deepseek-v") and not disabled

    def check_model(self, model: str) -> None:
        if not _MODEL.match(model):
            raise self.bad_request("Model Not Exist", None, "invalid_request_error")

    def check_params(self, body: dict[str, Any]) -> None:
        if not self.thinking_mode(body):
            return
        messages = body["messages"]
        last_user = max(
            (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"),
            default=-1,
        )
        for message in messages[last_user + 1 :]:
            if (
                isinstance(message, dict)
                and message.get("role") == "assistant"
                and message.get("tool_calls")
                and not isinstance(message.get("reasoning_content"), str)
            ):
                raise self.bad_request(_PASS_BACK, None, "invalid_request_error")

    def thinks(self, body: dict[str, Any], script: Script) -> bool:
        return self.thinking_mode(body)

    def hidden_reasoning(self, body: dict[str, Any]) -> int:
        return 0

    def usage(self, prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_cache_hit_tokens": cached,
            "prompt_cache_miss_tokens": prompt - cached,
        }
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return usage

    def cached_tokens(self, body: dict[str, Any]) -> int:
        return 0

    def headers(self) -> dict[str, str]:
        return {"x-ds-trace-id": secrets.token_hex(16)}

    def envelope(self) -> dict[str, Any]:
        return {"system_fingerprint": "fp_emulator"}

    def message_extras(self, reply: Reply) -> dict[str, Any]:
        return {}
