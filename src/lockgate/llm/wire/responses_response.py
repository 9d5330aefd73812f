"""The conversation model's answer (an Anthropic message) -> a Responses API
``response`` object, and what the stream encoder shares with it: ids, the
request fields a response echoes, status from the stop reason, output items
from content blocks.

Text blocks in a row make one ``message`` item (one ``output_text`` part
each); thinking becomes a ``reasoning`` item whose summary is the thinking
text and whose ``encrypted_content`` carries the block's signature, so that a
client replaying it (Codex does, with ``store: false``) gives the upstream
its signed thinking back; ``tool_use`` becomes a ``function_call``, or a
``custom_tool_call`` / ``local_shell_call`` for the request's tools of those
kinds (see ``responses_request``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import usage_from_anthropic
from lockgate.llm.wire.responses import responses_usage
from lockgate.llm.wire.responses_request import (
    CUSTOM_INPUT,
    LOCAL_SHELL,
    custom_tool_names,
    thinking_content,
)

__all__ = [
    "ResponseShape",
    "anthropic_to_responses_response",
    "custom_input",
    "local_shell_action",
    "response_status",
]

#: Anthropic error types -> the ``code`` of a failed response.
FAILURE_CODES = {
    "rate_limit_error": "rate_limit_exceeded",
    "invalid_request_error": "invalid_prompt",
}


class ResponseShape:
    """What every response object of one call shares: its id, the request
    fields it echoes, and how its tool calls are encoded."""

    __slots__ = ("_next", "created_at", "custom", "echo", "id", "local_shell", "model")

    def __init__(self, body: dict[str, Any], model: str, created_at: int | None = None) -> None:
        self.id = "resp_" + uuid.uuid4().hex
        self.created_at = int(time.time()) if created_at is None else created_at
        self.model = model
        self.custom = custom_tool_names(body)
        tools = body.get("tools")
        self.local_shell = isinstance(tools, list) and any(
            isinstance(t, dict) and t.get("type") == "local_shell" for t in tools
        )
        reasoning = body.get("reasoning")
        text = body.get("text")
        self.echo: dict[str, Any] = {
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
            "previous_response_id": None,
            "reasoning": {
                "effort": reasoning.get("effort"),
                "summary": reasoning.get("summary"),
            }
            if isinstance(reasoning, dict)
            else {"effort": None, "summary": None},
            "store": body.get("store") is not False,
            "temperature": body.get("temperature"),
            "text": text if isinstance(text, dict) else {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice") or "auto",
            "tools": tools if isinstance(tools, list) else [],
            "top_p": body.get("top_p"),
            "truncation": "disabled",
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }
        self._next = 0

    def item_id(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}_{self.id[5:]}{self._next:03d}"

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
        incomplete: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": incomplete} if incomplete else None,
            "model": self.model,
            "output": output,
            "usage": usage,
            **self.echo,
        }

    def call_item(self, block_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
        """A ``tool_use`` block (its input as JSON text) -> the output item for its tool's kind."""
        if name in self.custom:
            return {
                "type": "custom_tool_call",
                "id": self.item_id("ctc"),
                "call_id": block_id,
                "name": name,
                "input": custom_input(arguments),
                "status": status,
            }
        if name == LOCAL_SHELL and self.local_shell:
            return {
                "type": "local_shell_call",
                "id": self.item_id("lsh"),
                "call_id": block_id,
                "action": local_shell_action(arguments),
                "status": status,
            }
        return {
            "type": "function_call",
            "id": self.item_id("fc"),
            "call_id": block_id,
            "name": name,
            "arguments": arguments,
            "status": status,
        }


def _parsed(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def custom_input(arguments: str) -> str:
    """A freeform tool's raw input, from the one-string object the model was given."""
    value = _parsed(arguments).get(CUSTOM_INPUT)
    return value if isinstance(value, str) else ""


def local_shell_action(arguments: str) -> dict[str, Any]:
    args = _parsed(arguments)
    command = args.get("command")
    action: dict[str, Any] = {
        "type": "exec",
        "command": [str(c) for c in command] if isinstance(command, list) else [],
        "env": {},
    }
    for key in ("working_directory", "timeout_ms"):
        if args.get(key) is not None:
            action[key] = args[key]
    return action


def response_status(stop_reason: Any) -> tuple[str, str | None]:
    """An Anthropic stop reason -> (response status, incomplete reason)."""
    if stop_reason in ("max_tokens", "model_context_window_exceeded"):
        return "incomplete", "max_output_tokens"
    if stop_reason == "refusal":
        return "incomplete", "content_filter"
    return "completed", None


def reasoning_item(shape: ResponseShape, block: dict[str, Any], text: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": shape.item_id("rs"),
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    encrypted = thinking_content(block)
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    item["status"] = "completed"
    return item


def anthropic_to_responses_response(
    resp: dict[str, Any], model: str, body: dict[str, Any], created_at: int | None = None
) -> tuple[dict[str, Any], Usage]:
    """An Anthropic message -> (a Responses ``response`` object, its usage)."""
    upstream_model = resp.get("model")
    shape = ResponseShape(
        body,
        upstream_model if isinstance(upstream_model, str) and upstream_model else model,
        created_at,
    )
    status, incomplete = response_status(resp.get("stop_reason"))
    output: list[dict[str, Any]] = []
    message: dict[str, Any] | None = None
    content = resp.get("content")
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            if message is None:
                message = {
                    "type": "message",
                    "id": shape.item_id("msg"),
                    "status": "completed",
                    "role": "assistant",
                    "content": [],
                }
                output.append(message)
            message["content"].append(
                {"type": "output_text", "text": block["text"], "annotations": [], "logprobs": []}
            )
            continue
        if kind in ("thinking", "redacted_thinking"):
            thinking = block.get("thinking")
            output.append(
                reasoning_item(shape, block, thinking if isinstance(thinking, str) else "")
            )
        elif kind == "tool_use":
            name = block.get("name")
            block_id = block.get("id")
            output.append(
                shape.call_item(
                    block_id if isinstance(block_id, str) else "",
                    name if isinstance(name, str) else "",
                    orjson.dumps(block.get("input") or {}).decode(),
                    "completed",
                )
            )
        else:
            continue  # server tools and their results have no Responses form here
        message = None
    if incomplete and message is not None:
        message["status"] = "incomplete"
    raw_usage = resp.get("usage")
    usage = usage_from_anthropic(raw_usage) if isinstance(raw_usage, dict) else Usage()
    return shape.response(status, output, responses_usage(usage), incomplete), usage
