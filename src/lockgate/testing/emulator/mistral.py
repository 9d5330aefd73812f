"""Mistral's chat completions (``https://api.mistral.ai/v1/chat/completions``).

OpenAI-shaped, with the differences that break OpenAI-format traffic sent to
it unchanged, as users of other gateways report them:

- the body is validated with extra fields forbidden: ``stream_options``,
  ``max_completion_tokens``, ``user``, ``seed`` or an assistant message's
  ``reasoning_content`` answer 422 ``extra_forbidden`` (pydantic's detail list
  inside Mistral's error envelope);
- a tool call id must be exactly nine letters or digits, in assistant
  ``tool_calls`` and in ``tool`` messages alike (400 ``invalid_function_call``);
- the ids it mints itself are nine characters, and the last chunk of a stream
  carries ``usage`` without being asked.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from .openai import ChatProfile
from .openai_validate import ChatRules
from .responses import ApiError
from .script import Reply

__all__ = ["MistralProfile"]

MISTRAL_FIELDS = frozenset(
    {
        "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop",
        "random_seed", "response_format", "tools", "tool_choice", "presence_penalty",
        "frequency_penalty", "n", "prediction", "parallel_tool_calls", "prompt_mode",
        "safe_prompt", "metadata",
    }
)  # fmt: skip
_MESSAGE_FIELDS = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "prefix"}),
    "tool": frozenset({"role", "content", "tool_call_id", "name"}),
}
_MODEL = re.compile(r"^(mistral|codestral|devstral|magistral|ministral|open-mi[sx]tral|pixtral)")
_TOOL_CALL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_ALNUM = string.ascii_letters + string.digits


def _extra(loc: list[Any], value: Any) -> dict[str, Any]:
    return {"type": "extra_forbidden", "loc": loc, "msg": "Extra inputs are not permitted", "input": value}  # fmt: skip


class MistralProfile(ChatProfile):
    name = "mistral"
    rules = ChatRules(fields=MISTRAL_FIELDS, max_tool_call_id=None, max_user=None)
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
        body = {"object": "error", "message": message, "type": type_, "param": param, "code": code}
        return ApiError(status, body, headers)

    def check_body(self, body: Any) -> None:
        """Mistral's schema forbids what it does not define, at any depth."""
        if not isinstance(body, dict):
            return
        details = [
            _extra(["body", key], value) for key, value in body.items() if key not in MISTRAL_FIELDS
        ]
        messages = body.get("messages")
        for i, message in enumerate(messages if isinstance(messages, list) else []):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            allowed = _MESSAGE_FIELDS.get(role if isinstance(role, str) else "", frozenset())
            details += [
                _extra(["body", "messages", i, role, key], value)
                for key, value in message.items()
                if allowed and key not in allowed
            ]
        if details:
            raise ApiError(
                422,
                {
                    "object": "error",
                    "message": {"detail": details},
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                },
            )
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            ids = [message.get("tool_call_id")] if message.get("role") == "tool" else []
            calls = message.get("tool_calls")
            ids += (
                [c.get("id") for c in calls if isinstance(c, dict)]
                if isinstance(calls, list)
                else []
            )
            for call_id in ids:
                if not isinstance(call_id, str) or not _TOOL_CALL_ID.match(call_id):
                    raise self.error(
                        400,
                        f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9.",
                        "invalid_function_call",
                        code="3280",
                    )

    def check_model(self, model: str) -> None:
        if not _MODEL.match(model):
            raise self.error(400, "Invalid model: " + model, "invalid_model", code="1500")

    def check_params(self, body: dict[str, Any]) -> None:
        return None

    def name_calls(self, reply: Reply) -> None:
        for call in reply.tool_calls:
            call.id = "".join(secrets.choice(_ALNUM) for _ in range(9))

    def always_streams_usage(self) -> bool:
        return True

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
        return {"mistral-correlation-id": secrets.token_hex(16)}

    def envelope(self) -> dict[str, Any]:
        return {}

    def message_extras(self, reply: Reply) -> dict[str, Any]:
        return {}
