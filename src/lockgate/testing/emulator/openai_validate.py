"""Validation of a Chat Completions request, with OpenAI's error wording.

OpenAI rejects what it does not know (unknown fields at any depth, content
part types a role may not carry, tool messages out of sequence). The rules
are shared by every OpenAI-compatible emulator; a :class:`ChatRules` instance
holds what differs between them (allowed fields, part types, error envelope).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .responses import ApiError

__all__ = ["ChatRules", "Fail", "type_name", "validate_chat"]

OPENAI_FIELDS = frozenset(
    {
        "messages", "model", "audio", "frequency_penalty", "function_call", "functions",
        "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata",
        "modalities", "moderation", "n", "parallel_tool_calls", "prediction",
        "presence_penalty", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
        "reasoning_effort", "response_format", "safety_identifier", "seed", "service_tier",
        "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    }
)  # fmt: skip
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
MESSAGE_FIELDS = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset(
        {"role", "content", "name", "tool_calls", "refusal", "audio", "function_call"}
    ),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
PART_FIELDS = {
    "text": frozenset({"type", "text", "prompt_cache_breakpoint"}),
    "image_url": frozenset({"type", "image_url"}),
    "input_audio": frozenset({"type", "input_audio"}),
    "file": frozenset({"type", "file", "prompt_cache_breakpoint"}),
    "refusal": frozenset({"type", "refusal"}),
    "video_url": frozenset({"type", "video_url"}),
    "video": frozenset({"type", "video"}),
}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: Longest function name and ``tool_calls[].id`` OpenAI takes.
MAX_TOOL_NAME = 64
MAX_TOOL_CALL_ID = 40
MAX_USER = 64

# (message, param, code) -> the provider's 400
Fail = Callable[[str, str | None, str | None], ApiError]


@dataclass(frozen=True, slots=True)
class ChatRules:
    """What differs between OpenAI-compatible services."""

    fields: frozenset[str] = OPENAI_FIELDS
    user_parts: tuple[str, ...] = ("text", "image_url", "input_audio", "file")
    assistant_fields: frozenset[str] = frozenset()
    # DashScope words tool-sequence errors with its algorithm service prefix
    algo_prefix: str = ""
    #: Longest ``tool_calls[].id`` (OpenAI: 40); None where no limit is known.
    max_tool_call_id: int | None = MAX_TOOL_CALL_ID
    #: Longest ``user`` (OpenAI: 64; Claude Code's metadata.user_id is ~150).
    max_user: int | None = MAX_USER


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _list(values: tuple[str, ...] | list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


class _Checker:
    def __init__(self, rules: ChatRules, fail: Fail) -> None:
        self.rules = rules
        self.fail = fail

    def unknown(self, obj: dict[str, Any], allowed: frozenset[str], path: str) -> None:
        for key in obj:
            if key not in allowed:
                raise self.fail(
                    f"Unknown parameter: '{path}.{key}'.", f"{path}.{key}", "unknown_parameter"
                )

    def max_length(self, value: Any, limit: int, param: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            raise self.fail(
                f"Invalid '{param}': string too long. Expected a string with maximum length {limit}, "
                f"but got a string with length {len(value)} instead.",
                param,
                "string_above_max_length",
            )

    def missing(self, param: str) -> ApiError:
        return self.fail(
            f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
        )

    def bad_type(self, param: str, expected: str, value: Any) -> ApiError:
        return self.fail(
            f"Invalid type for '{param}': expected {expected}, but got {type_name(value)} instead.",
            param,
            "invalid_type",
        )

    def number(
        self, body: dict[str, Any], name: str, lo: float, hi: float | None, integer: bool = False
    ) -> None:
        if name not in body or body[name] is None:
            return
        value = body[name]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool):
            raise self.bad_type(name, "an integer" if integer else "a decimal", value)
        kind = "integer" if integer else "decimal"
        if value < lo:
            raise self.fail(
                f"Invalid '{name}': {kind} below minimum value. Expected a value >= {lo:g}, but got {value} instead.",
                name,
                f"{kind}_below_min_value",
            )
        if hi is not None and value > hi:
            raise self.fail(
                f"Invalid '{name}': {kind} above maximum value. Expected a value <= {hi:g}, but got {value} instead.",
                name,
                f"{kind}_above_max_value",
            )

    def content(self, role: str, content: Any, path: str) -> None:
        if content is None:
            raise self.missing(f"{path}.content")
        if isinstance(content, str):
            return
        if not isinstance(content, list):
            raise self.bad_type(f"{path}.content", "one of a string or array of objects", content)
        if role == "user":
            allowed = self.rules.user_parts
        elif role == "assistant":
            allowed = ("text", "refusal")
        else:
            allowed = ("text",)
        for j, part in enumerate(content):
            ppath = f"{path}.content[{j}]"
            if not isinstance(part, dict):
                raise self.bad_type(ppath, "an object", part)
            ptype = part.get("type")
            if ptype is None:
                raise self.missing(f"{ppath}.type")
            if ptype == "image_url" and role != "user":
                raise self.fail(
                    f"Invalid '{path}'. Image URLs are only allowed for messages with role 'user', "
                    f"but this message with role '{role}' contains an image URL.",
                    path,
                    None,
                )
            if ptype not in allowed:
                raise self.fail(
                    f"Invalid value: '{ptype}'. Supported values are: {_list(allowed)}.",
                    f"{ppath}.type",
                    "invalid_value",
                )
            self.unknown(part, PART_FIELDS.get(ptype, frozenset({"type", ptype})), ppath)
            if ptype not in part:
                raise self.missing(f"{ppath}.{ptype}")
            if ptype == "text" and not isinstance(part["text"], str):
                raise self.bad_type(f"{ppath}.text", "a string", part["text"])
            if ptype == "image_url":
                img = part["image_url"]
                if not isinstance(img, dict) or not isinstance(img.get("url"), str):
                    raise self.missing(f"{ppath}.image_url.url")
                self.unknown(img, frozenset({"url", "detail"}), f"{ppath}.image_url")

    def tool_calls(self, calls: Any, path: str) -> list[str]:
        if not isinstance(calls, list):
            raise self.bad_type(f"{path}.tool_calls", "an array", calls)
        if not calls:
            raise self.fail(
                f"Invalid '{path}.tool_calls': empty array. Expected an array with minimum length 1, "
                "but got an empty array instead.",
                f"{path}.tool_calls",
                "empty_array",
            )
        ids = []
        for k, call in enumerate(calls):
            cpath = f"{path}.tool_calls[{k}]"
            if not isinstance(call, dict):
                raise self.bad_type(cpath, "an object", call)
            self.unknown(call, frozenset({"id", "type", "function", "custom"}), cpath)
            for req in ("id", "type"):
                if req not in call:
                    raise self.missing(f"{cpath}.{req}")
            if self.rules.max_tool_call_id is not None:
                self.max_length(call["id"], self.rules.max_tool_call_id, f"{cpath}.id")
            if call["type"] == "function":
                fn = call.get("function")
                if not isinstance(fn, dict):
                    raise self.missing(f"{cpath}.function")
                self.unknown(fn, frozenset({"name", "arguments"}), f"{cpath}.function")
                if "name" not in fn:
                    raise self.missing(f"{cpath}.function.name")
                if not isinstance(fn.get("arguments"), str):
                    if "arguments" not in fn:
                        raise self.missing(f"{cpath}.function.arguments")
                    raise self.bad_type(f"{cpath}.function.arguments", "a string", fn["arguments"])
            ids.append(str(call["id"]))
        return ids

    def messages(self, messages: Any) -> None:
        if not isinstance(messages, list):
            raise self.bad_type("messages", "an array", messages)
        if not messages:
            raise self.fail(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                "but got an empty array instead.",
                "messages",
                "empty_array",
            )
        pending: list[str] = []
        expected: set[str] = set()
        pending_at = 0
        for i, msg in enumerate(messages):
            path = f"messages[{i}]"
            if not isinstance(msg, dict):
                raise self.bad_type(path, "an object", msg)
            role = msg.get("role")
            if role is None:
                raise self.missing(f"{path}.role")
            if role not in ROLES:
                raise self.fail(
                    f"Invalid value: '{role}'. Supported values are: {_list(ROLES)}.",
                    f"{path}.role",
                    "invalid_value",
                )
            allowed = MESSAGE_FIELDS[role]
            if role == "assistant":
                allowed = allowed | self.rules.assistant_fields
            self.unknown(msg, allowed, path)
            if role == "tool":
                if "tool_call_id" not in msg:
                    raise self.missing(f"{path}.tool_call_id")
                call_id = str(msg["tool_call_id"])
                if call_id not in expected:
                    raise self.fail(
                        self.rules.algo_prefix
                        + "Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'.",
                        f"messages.[{i}].role",
                        None,
                    )
                expected.discard(call_id)
                if call_id in pending:
                    pending.remove(call_id)
            else:
                if pending:
                    self._unanswered(pending, i)
                expected = set()
                if role == "assistant" and msg.get("tool_calls") is not None:
                    pending = self.tool_calls(msg["tool_calls"], path)
                    expected = set(pending)
                    pending_at = i
            has_calls = msg.get("tool_calls") is not None or msg.get("function_call") is not None
            if not (role == "assistant" and has_calls and msg.get("content") is None):
                self.content(role, msg.get("content"), path)
        if pending:
            self._unanswered(pending, pending_at)

    def _unanswered(self, pending: list[str], index: int) -> None:
        raise self.fail(
            self.rules.algo_prefix
            + "An assistant message with 'tool_calls' must be followed by tool messages responding "
            "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
            + ", ".join(pending),
            f"messages.[{index}].role",
            None,
        )

    def tools(self, body: dict[str, Any]) -> set[str]:
        tools = body.get("tools")
        names: set[str] = set()
        if tools is None:
            if body.get("tool_choice") not in (None, "none", "auto"):
                raise self.fail(
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                    "tool_choice",
                    None,
                )
            return names
        if not isinstance(tools, list):
            raise self.bad_type("tools", "an array", tools)
        for i, tool in enumerate(tools):
            path = f"tools[{i}]"
            if not isinstance(tool, dict):
                raise self.bad_type(path, "an object", tool)
            if "type" not in tool:
                raise self.missing(f"{path}.type")
            if tool["type"] != "function":
                raise self.fail(
                    f"Invalid value: '{tool['type']}'. Supported values are: 'function' and 'custom'.",
                    f"{path}.type",
                    "invalid_value",
                )
            self.unknown(tool, frozenset({"type", "function"}), path)
            fn = tool.get("function")
            if not isinstance(fn, dict):
                raise self.missing(f"{path}.function")
            self.unknown(
                fn, frozenset({"name", "description", "parameters", "strict"}), f"{path}.function"
            )
            name = fn.get("name")
            if not isinstance(name, str):
                raise self.missing(f"{path}.function.name")
            if len(name) > MAX_TOOL_NAME and self.rules.algo_prefix:
                raise self.fail(
                    self.rules.algo_prefix
                    + f"The length of the tool name cannot exceed {MAX_TOOL_NAME}.",
                    None,
                    None,
                )
            self.max_length(name, MAX_TOOL_NAME, f"{path}.function.name")
            if not _TOOL_NAME.match(name):
                raise self.fail(
                    f"Invalid '{path}.function.name': string does not match pattern. Expected a "
                    "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                    f"{path}.function.name",
                    "invalid_value",
                )
            params = fn.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise self.bad_type(f"{path}.function.parameters", "an object", params)
            if fn.get("strict") is True and isinstance(params, dict):
                _strict_schema(self, name, params, ())
            names.add(name)
        return names


def _strict_schema(
    checker: _Checker,
    fn: str,
    schema: dict[str, Any],
    context: tuple[str, ...],
    where: tuple[str, str, str] = ("function", "tools", "invalid_function_parameters"),
) -> None:
    """Structured Outputs' rules for ``strict: true`` schemas; ``where`` is
    (what the schema belongs to, param, code): a function by default, else
    ``("response_format", "response_format", "invalid_json_schema")``."""
    subject, param, code = where
    if schema.get("type") == "object" or "properties" in schema:
        ctx = "(" + ", ".join(f"'{c}'" for c in context) + ")"
        if schema.get("additionalProperties") is not False:
            raise checker.fail(
                f"Invalid schema for {subject} '{fn}': In context={ctx}, 'additionalProperties' is "
                "required to be supplied and to be false.",
                param,
                code,
            )
        props = schema.get("properties") or {}
        missing = [k for k in props if k not in (schema.get("required") or [])]
        if missing:
            raise checker.fail(
                f"Invalid schema for {subject} '{fn}': In context={ctx}, 'required' is required to be "
                f"supplied and to be an array including every key in properties. Missing '{missing[0]}'.",
                param,
                code,
            )
        for key, sub in props.items():
            if isinstance(sub, dict):
                _strict_schema(checker, fn, sub, (*context, "properties", key), where)
    if isinstance(schema.get("items"), dict):
        _strict_schema(checker, fn, schema["items"], (*context, "items"), where)


def validate_chat(rules: ChatRules, fail: Fail, body: Any) -> set[str]:
    """Raises the provider's 400 for the first problem; returns tool names."""
    c = _Checker(rules, fail)
    if not isinstance(body, dict):
        raise fail("Invalid type for request body: expected an object.", None, "invalid_type")
    unknown = [k for k in body if k not in rules.fields]
    if unknown:
        noun = "argument" if len(unknown) == 1 else "arguments"
        raise fail(f"Unrecognized request {noun} supplied: {', '.join(unknown)}", None, None)
    if not body.get("model"):
        raise fail("you must provide a model parameter", None, None)
    if not isinstance(body["model"], str):
        raise c.bad_type("model", "a string", body["model"])
    if "messages" not in body:
        raise c.missing("messages")
    c.messages(body["messages"])
    c.number(body, "temperature", 0, 2)
    c.number(body, "top_p", 0, 1)
    c.number(body, "presence_penalty", -2, 2)
    c.number(body, "frequency_penalty", -2, 2)
    c.number(body, "max_tokens", 1, None, integer=True)
    c.number(body, "max_completion_tokens", 1, None, integer=True)
    c.number(body, "n", 1, 128, integer=True)
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        raise c.bad_type("stream", "a boolean", body["stream"])
    if body.get("stream_options") is not None and not body.get("stream"):
        raise fail(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            None,
        )
    if isinstance(body.get("stream_options"), dict):
        c.unknown(
            body["stream_options"],
            frozenset({"include_usage", "include_obfuscation"}),
            "stream_options",
        )
    stop = body.get("stop")
    if isinstance(stop, list) and len(stop) > 4:
        raise fail(
            f"Invalid 'stop': array too long. Expected an array with maximum length 4, but got an "
            f"array with length {len(stop)} instead.",
            "stop",
            "array_above_max_length",
        )
    if rules.max_user is not None:
        c.max_length(body.get("user"), rules.max_user, "user")
    names = c.tools(body)
    _response_format(c, body)
    return names


def _response_format(c: _Checker, body: dict[str, Any]) -> None:
    fmt = body.get("response_format")
    if fmt is None:
        return
    if not isinstance(fmt, dict) or "type" not in fmt:
        raise c.missing("response_format.type")
    kind = fmt["type"]
    if kind not in ("text", "json_object", "json_schema"):
        raise c.fail(
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
            "response_format.type",
            "invalid_value",
        )
    if kind == "json_schema":
        schema = fmt.get("json_schema")
        if not isinstance(schema, dict):
            raise c.missing("response_format.json_schema")
        if "name" not in schema:
            raise c.missing("response_format.json_schema.name")
        if schema.get("strict") is True and isinstance(schema.get("schema"), dict):
            where = ("response_format", "response_format", "invalid_json_schema")
            _strict_schema(c, str(schema["name"]), schema["schema"], (), where)
    if kind == "json_object":
        text = str(body.get("messages")).lower()
        if "json" not in text:
            raise c.fail(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                "messages",
                None,
            )
