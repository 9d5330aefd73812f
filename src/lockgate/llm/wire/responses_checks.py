"""The structural checks a Responses API request must pass before it is
passed through or translated, worded as OpenAI's API words them
(``Invalid type for 'input': ...``, ``param`` and ``code`` set).

Only the shape is checked: unknown fields and item types OpenAI may add
pass when the upstream is OpenAI's own API; a translated upstream ignores
item types it has no form for (see ``responses_request``).
"""

from __future__ import annotations

from typing import Any

from lockgate.llm.wire.request_checks import RequestProblem, _bad_type, _is_int, _missing

__all__ = ["responses_request_problem"]

_ROLES = ("user", "assistant", "system", "developer")
#: Items that must name the call they belong to.
_CALL_ITEMS = (
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "local_shell_call_output",
)
#: The fewest output tokens OpenAI takes.
MIN_OUTPUT_TOKENS = 16


def _invalid_value(value: Any, supported: tuple[str, ...], param: str) -> RequestProblem:
    quoted = [f"'{v}'" for v in supported]
    return RequestProblem(
        f"Invalid value: '{value}'. Supported values are: "
        f"{', '.join(quoted[:-1])}, and {quoted[-1]}.",
        param,
        "invalid_value",
    )


def responses_request_problem(body: dict[str, Any]) -> RequestProblem | None:
    """The first structural problem of a Responses API request (None: fine)."""
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        return _bad_type("model", "a string", model)
    for name in ("stream", "store", "parallel_tool_calls", "background"):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            return _bad_type(name, "a boolean", value)
    limit = body.get("max_output_tokens")
    if limit is not None:
        if not _is_int(limit):
            return _bad_type("max_output_tokens", "an integer", limit)
        if limit < MIN_OUTPUT_TOKENS:
            return RequestProblem(
                f"Invalid 'max_output_tokens': integer below minimum value. Expected a "
                f"value >= {MIN_OUTPUT_TOKENS}, but got {limit} instead.",
                "max_output_tokens",
                "integer_below_min_value",
            )
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str | list):
        return _bad_type("instructions", "a string", instructions)
    for name in ("tools", "include"):
        value = body.get(name)
        if value is not None and not isinstance(value, list):
            return _bad_type(name, "an array", value)
    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        if not isinstance(tool, dict):
            return _bad_type(f"tools[{i}]", "an object", tool)
        if tool.get("type") is None:
            return _missing(f"tools[{i}].type")
        if tool["type"] in ("function", "custom") and not isinstance(tool.get("name"), str):
            return _missing(f"tools[{i}].name")
    for name in ("text", "reasoning"):
        value = body.get(name)
        if value is not None and not isinstance(value, dict):
            return _bad_type(name, "an object", value)
    if "input" not in body:
        if body.get("previous_response_id") or body.get("conversation") or body.get("prompt"):
            return None
        return _missing("input")
    return _input_problem(body["input"])


def _input_problem(items: Any) -> RequestProblem | None:
    if isinstance(items, str):
        return None
    if not isinstance(items, list):
        return _bad_type("input", "one of a string or array of input items", items)
    for i, item in enumerate(items):
        path = f"input[{i}]"
        if not isinstance(item, dict):
            return _bad_type(path, "an object", item)
        kind = item.get("type", "message")
        if not isinstance(kind, str):
            return _bad_type(f"{path}.type", "a string", kind)
        if kind == "message":
            problem = _message_problem(item, path)
            if problem is not None:
                return problem
        elif kind in _CALL_ITEMS and not isinstance(item.get("call_id"), str):
            if "call_id" not in item:
                return _missing(f"{path}.call_id")
            return _bad_type(f"{path}.call_id", "a string", item["call_id"])
        elif kind == "function_call":
            if not isinstance(item.get("name"), str):
                return _missing(f"{path}.name")
    return None


def _message_problem(item: dict[str, Any], path: str) -> RequestProblem | None:
    role = item.get("role")
    if role is None:
        return _missing(f"{path}.role")
    if role not in _ROLES:
        return _invalid_value(role, _ROLES, f"{path}.role")
    if "content" not in item:
        return _missing(f"{path}.content")
    content = item["content"]
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return _bad_type(f"{path}.content", "one of a string or array of objects", content)
    for j, part in enumerate(content):
        where = f"{path}.content[{j}]"
        if not isinstance(part, dict):
            return _bad_type(where, "an object", part)
        kind = part.get("type")
        if kind is None:
            return _missing(f"{where}.type")
        if kind in ("input_text", "output_text") and not isinstance(part.get("text"), str):
            if "text" not in part:
                return _missing(f"{where}.text")
            return _bad_type(f"{where}.text", "a string", part["text"])
    return None
