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

import random
import re
import time
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

    __slots__ = (
        "_calls",
        "_echo_tail",
        "_next",
        "created_at",
        "custom",
        "echo",
        "id",
        "local_shell",
        "model",
    )

    def __init__(
        self,
        body: dict[str, Any],
        model: str,
        created_at: int | None = None,
        streamed: bool = False,
        response_id: str | None = None,
    ) -> None:
        # An identifier, not a secret (a translated response cannot be
        # fetched back): the caller's (the gateway's request id, which a
        # client may have set: only a short plain token is taken), else the
        # Mersenne Twister's, which spares a getrandom syscall per request.
        if response_id and len(response_id) <= 64 and _TOKEN.fullmatch(response_id):
            self.id = "resp_" + response_id
        else:
            self.id = f"resp_{random.getrandbits(128):032x}"
        self.created_at = int(time.time()) if created_at is None else created_at
        self.model = model
        tools = body.get("tools")
        if isinstance(tools, list) and tools:
            self.custom = custom_tool_names(body)
            self.local_shell = any(
                isinstance(t, dict) and t.get("type") == "local_shell" for t in tools
            )
        else:
            self.custom = _NO_NAMES
            self.local_shell = False
        # A stream repeats the response object three times (created, in
        # progress, completed): a coding agent's instructions and tool
        # schemas (~90 KB for Claude Code's) would triple the stream's bytes
        # and the gateway's CPU. Streams leave them out (_echo); the SDKs and
        # Codex read neither back.
        self.echo = _echo(body, streamed)
        self._next = 0
        self._calls: set[str] = set()
        #: The encoded echo without its opening brace, see response_bytes.
        self._echo_tail = b""

    def item_id(self, prefix: str) -> str:
        self._next += 1
        return prefix + "_" + self.id[5:] + _serial(self._next)

    def _head(
        self,
        status: str,
        output: list[Any],
        usage: dict[str, Any] | None,
        incomplete: str | None,
        error: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A response object's own fields (the echoed ones follow them)."""
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
        }

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
        incomplete: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {**self._head(status, output, usage, incomplete, error), **self.echo}

    def response_bytes(
        self,
        status: str,
        output: list[Any],
        usage: dict[str, Any] | None = None,
        incomplete: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> bytes:
        """``orjson.dumps(self.response(...))``, the echoed fields encoded once
        (a stream sends the response object three times). The same bytes:
        orjson writes keys in order, compactly. ``output`` may hold items
        already encoded (``orjson.Fragment``)."""
        tail = self._echo_tail or self._encode_echo()
        head = orjson.dumps(self._head(status, output, usage, incomplete, error))
        return head[:-1] + tail

    def _encode_echo(self) -> bytes:
        self._echo_tail = b"," + orjson.dumps(self.echo)[1:] if self.echo else b"}"
        return self._echo_tail

    def call_id(self, block_id: str) -> str:
        """A call id unique in this response (clients pair results by it; an
        upstream that repeats or omits one would make two calls one)."""
        call_id = block_id or "call_" + self.id[5:] + _serial(self._next)
        if call_id in self._calls:
            call_id = f"{call_id}_{len(self._calls) + 1}"
        self._calls.add(call_id)
        return call_id

    def call_item(self, block_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
        """A ``tool_use`` block (its input as JSON text) -> the output item for
        its tool's kind (``block_id`` already made unique by :meth:`call_id`)."""
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


_NO_NAMES: frozenset[str] = frozenset()
#: What a response id may be made of.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
#: Item serials as written in ids (three digits at least), the first ones ready-made.
_SERIALS = tuple(f"{n:03d}" for n in range(64))


def _serial(n: int) -> str:
    return _SERIALS[n] if n < 64 else f"{n:03d}"


_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_SUMMARIES = ("auto", "concise", "detailed")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


#: What a response echoes of a request that sets none of the fields.
_ECHO_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "store": True,
    "temperature": None,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
    "truncation": "disabled",
    "user": None,
    "metadata": {},
}
_ECHOED = frozenset(_ECHO_DEFAULTS) - {"previous_response_id", "truncation"}


def _echo(body: dict[str, Any], streamed: bool = False) -> dict[str, Any]:
    """The request fields a response repeats, as the API would have
    accepted them (a field it would refuse is echoed as its default). Only
    the fields the request sets are looked at (a few, in most requests);
    the defaults' nested objects are shared, never changed."""
    echo = dict(_ECHO_DEFAULTS)
    for key in _ECHOED.intersection(body):
        value = body[key]
        if key in ("parallel_tool_calls", "store"):
            echo[key] = value is not False
        elif key == "max_output_tokens":
            echo[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
        elif key in ("temperature", "top_p"):
            echo[key] = _number(value)
        elif key == "user":
            echo[key] = _str(value)
        elif key == "instructions":
            echo[key] = None if streamed else _str(value)
        elif key == "tools":
            echo[key] = [] if streamed else _tools(value)
        elif key == "reasoning" and isinstance(value, dict):
            effort = value.get("effort")
            summary = value.get("summary")
            echo[key] = {
                "effort": effort if effort in _EFFORTS else None,
                "summary": summary if summary in _SUMMARIES else None,
            }
        elif key == "text":
            echo[key] = {"format": _text_format(value)}
        elif key == "tool_choice":
            echo[key] = _tool_choice(value)
        elif key == "metadata" and isinstance(value, dict):
            echo[key] = {k: v for k, v in value.items() if isinstance(v, str)}
    return echo


def _text_format(text: Any) -> dict[str, Any]:
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict):
        kind = fmt.get("type")
        if kind == "json_object":
            return {"type": "json_object"}
        if kind == "json_schema" and isinstance(fmt.get("schema"), dict):
            out = {
                "type": "json_schema",
                "name": _str(fmt.get("name")) or "response",
                "schema": fmt["schema"],
            }
            if isinstance(fmt.get("strict"), bool):
                out["strict"] = fmt["strict"]
            return out
    return {"type": "text"}


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom"):
        name = _str(choice.get("name"))
        if name is not None:
            return {"type": choice["type"], "name": name}
    return "auto"


def _tools(tools: Any) -> list[dict[str, Any]]:
    """Function, custom and local-shell tools, with the fields the API defines;
    hosted tools (web search, ...) served only by OpenAI are left out."""
    out: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        kind, name = tool.get("type"), _str(tool.get("name"))
        if kind == "local_shell":
            out.append({"type": "local_shell"})
        elif kind == "function" and name is not None:
            parameters = tool.get("parameters")
            strict = tool.get("strict")
            out.append(
                {
                    "type": "function",
                    "name": name,
                    "description": _str(tool.get("description")),
                    "parameters": parameters if isinstance(parameters, dict) else None,
                    "strict": strict if isinstance(strict, bool) else None,
                }
            )
        elif kind == "custom" and name is not None:
            custom: dict[str, Any] = {"type": "custom", "name": name}
            if _str(tool.get("description")) is not None:
                custom["description"] = tool["description"]
            fmt = tool.get("format")
            if isinstance(fmt, dict) and fmt.get("type") == "text":
                custom["format"] = {"type": "text"}
            elif (
                isinstance(fmt, dict)
                and fmt.get("type") == "grammar"
                and isinstance(fmt.get("definition"), str)
                and fmt.get("syntax") in ("lark", "regex")
            ):
                custom["format"] = {
                    "type": "grammar",
                    "definition": fmt["definition"],
                    "syntax": fmt["syntax"],
                }
            out.append(custom)
    return out


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
                    shape.call_id(block_id if isinstance(block_id, str) else ""),
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
