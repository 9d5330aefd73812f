"""The structural checks a client's request must pass before it is translated.

A body whose ``messages`` is a string, or whose content is a number, would
otherwise be translated into something a provider answers confusingly (or
worse, accepts: a string's characters iterated as messages). These checks
catch what the real API of the client's format rejects outright, and word
it the way that API does (Anthropic's ``messages: Field required``,
OpenAI's ``Missing required parameter: 'messages'.``), so a client sees the
error it would see without the gateway.

Only the shape is checked: unknown fields and new block types pass (Claude
Code adds some with every release), and ``model`` may be absent (the
gateway's configuration can name it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RequestProblem", "anthropic_request_problem", "openai_request_problem"]

_ANTHROPIC_ROLES = ("user", "assistant", "system")
_OPENAI_ROLES = ("system", "assistant", "user", "function", "tool", "developer")
#: OpenAI roles whose message must carry content (an assistant's may be tool calls only).
_OPENAI_CONTENT_REQUIRED = frozenset({"system", "user", "developer", "tool"})


@dataclass(frozen=True, slots=True)
class RequestProblem:
    """What is wrong, and for OpenAI clients the ``param`` and ``code`` fields of its error."""

    message: str
    param: str | None = None
    code: str | None = None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- Anthropic Messages: pydantic-style messages, dotted paths -----------------


def anthropic_request_problem(body: dict[str, Any]) -> RequestProblem | None:
    """The first structural problem of an Anthropic Messages (or count_tokens) request."""
    problem = _anthropic_top(body) or _anthropic_messages(body.get("messages"))
    return RequestProblem(problem) if problem else None


def _anthropic_top(body: dict[str, Any]) -> str | None:
    if "model" in body and body["model"] is not None and not isinstance(body["model"], str):
        return "model: Input should be a valid string"
    if "max_tokens" in body and not _is_int(body["max_tokens"]):
        return "max_tokens: Input should be a valid integer"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "stream: Input should be a valid boolean"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string"
    if isinstance(system, list):
        for i, block in enumerate(system):
            if not isinstance(block, dict):
                return f"system.{i}: Input should be a valid dictionary"
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return "tools: Input should be a valid list"
    return None


def _anthropic_messages(messages: Any) -> str | None:
    if messages is None:
        return "messages: Field required"
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        path = f"messages.{i}"
        if not isinstance(message, dict):
            return f"{path}: Input should be a valid dictionary or object to extract fields from"
        role = message.get("role")
        if role is None:
            return f"{path}.role: Field required"
        if role not in _ANTHROPIC_ROLES:
            return f"{path}.role: Input should be 'user' or 'assistant'"
        if "content" not in message:
            return f"{path}.content: Field required"
        content = message["content"]
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"{path}.content: Input should be a valid string"
        for j, block in enumerate(content):
            where = f"{path}.content.{j}"
            if not isinstance(block, dict):
                return (
                    f"{where}: Input should be a valid dictionary or object to extract fields from"
                )
            kind = block.get("type")
            if not isinstance(kind, str):
                return f"{where}: Unable to extract tag using discriminator 'type'"
            problem = _anthropic_block(block, f"{where}.{kind}")
            if problem:
                return problem
    return None


#: Fields of the common block kinds and the type each must have
#: (an unknown kind passes: new ones appear with every release).
_BLOCK_FIELDS: dict[str, tuple[tuple[str, type, str], ...]] = {
    "text": (("text", str, "a valid string"),),
    "thinking": (("thinking", str, "a valid string"),),
    "tool_use": (
        ("id", str, "a valid string"),
        ("name", str, "a valid string"),
        ("input", dict, "a valid dictionary"),
    ),
    "tool_result": (("tool_use_id", str, "a valid string"),),
    "image": (("source", dict, "a valid dictionary"),),
}


def _anthropic_block(block: dict[str, Any], path: str) -> str | None:
    for name, kind, expected in _BLOCK_FIELDS.get(block["type"], ()):
        if name not in block:
            return f"{path}.{name}: Field required"
        if not isinstance(block[name], kind):
            return f"{path}.{name}: Input should be {expected}"
    if block["type"] == "tool_result":
        content = block.get("content")
        if content is not None and not isinstance(content, str | list):
            return f"{path}.content: Input should be a valid string"
    return None


# -- OpenAI Chat Completions: typed parameters, bracketed paths ------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_int(value):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _bad_type(param: str, expected: str, value: Any) -> RequestProblem:
    return RequestProblem(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param,
        "invalid_type",
    )


def _missing(param: str) -> RequestProblem:
    return RequestProblem(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def openai_request_problem(body: dict[str, Any]) -> RequestProblem | None:
    """The first structural problem of an OpenAI Chat Completions request."""
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        return _bad_type("model", "a string", model)
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        return _bad_type("stream", "a boolean", body["stream"])
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and not _is_int(value):
            return _bad_type(name, "an integer", value)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        return _bad_type("stream_options", "an object", options)
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return _bad_type("tools", "an array", tools)
    if "messages" not in body:
        return _missing("messages")
    return _openai_messages(body["messages"])


def _openai_messages(messages: Any) -> RequestProblem | None:
    if not isinstance(messages, list):
        return _bad_type("messages", "an array", messages)
    if not messages:
        return RequestProblem(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, dict):
            return _bad_type(path, "an object", message)
        role = message.get("role")
        if role is None:
            return _missing(f"{path}.role")
        if role not in _OPENAI_ROLES:
            quoted = [f"'{r}'" for r in _OPENAI_ROLES]
            return RequestProblem(
                f"Invalid value: '{role}'. Supported values are: "
                f"{', '.join(quoted[:-1])}, and {quoted[-1]}.",
                f"{path}.role",
                "invalid_value",
            )
        content = message.get("content")
        if content is None:
            if role in _OPENAI_CONTENT_REQUIRED:
                return _missing(f"{path}.content")
            continue
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return _bad_type(f"{path}.content", "one of a string or array of objects", content)
        for j, part in enumerate(content):
            where = f"{path}.content[{j}]"
            if not isinstance(part, dict):
                return _bad_type(where, "an object", part)
            if part.get("type") is None:
                return _missing(f"{where}.type")
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                if "text" not in part:
                    return _missing(f"{where}.text")
                return _bad_type(f"{where}.text", "a string", part["text"])
    return None
