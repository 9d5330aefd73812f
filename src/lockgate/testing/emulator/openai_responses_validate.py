"""Validation of a Responses API request (``POST /v1/responses``), with
OpenAI's error wording.

The Responses API is stricter than Chat Completions in its own way: every
unknown field is ``Unknown parameter: '<path>'.`` (top level included), input
items are typed, a tool output must answer a call present in the
conversation, a reasoning item must be followed by what the model produced
after it, and reasoning replayed without ``store`` must carry the encrypted
content the API issued. The conversation given here already has the items
of ``previous_response_id`` in front of the new input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .openai_validate import ChatRules, Fail, _Checker, _strict_schema

__all__ = [
    "CREATE_FIELDS",
    "INCLUDABLE",
    "TOOL_TYPES",
    "Checked",
    "validate_input",
    "validate_request",
]

#: What ``POST /v1/responses`` takes at the top level (``client_metadata``:
#: Codex sends it to OpenAI itself, which takes it).
CREATE_FIELDS = frozenset(
    {
        "background", "client_metadata", "context_management", "conversation", "include",
        "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
        "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
        "prompt_cache_options", "prompt_cache_retention", "reasoning", "safety_identifier",
        "service_tier", "store", "stream", "stream_options", "temperature", "text",
        "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
    }
)  # fmt: skip
INCLUDABLE = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)
#: Tool types and the fields each takes.
TOOL_TYPES: dict[str, frozenset[str]] = {
    "function": frozenset(
        {"type", "name", "description", "parameters", "strict", "defer_loading", "allowed_callers"}
    ),
    "custom": frozenset(
        {"type", "name", "description", "format", "defer_loading", "allowed_callers"}
    ),
    "namespace": frozenset({"type", "name", "description", "tools"}),
    "tool_search": frozenset({"type", "description", "execution", "parameters"}),
    "file_search": frozenset(
        {"type", "vector_store_ids", "filters", "max_num_results", "ranking_options"}
    ),
    # search_content_types: Codex sends it with its live web search; the API takes it.
    "web_search": frozenset(
        {
            "type",
            "external_web_access",
            "filters",
            "search_context_size",
            "user_location",
            "search_content_types",
        }
    ),
    "web_search_preview": frozenset(
        {"type", "search_context_size", "user_location", "search_content_types"}
    ),
    "computer_use_preview": frozenset({"type", "display_height", "display_width", "environment"}),
    "code_interpreter": frozenset({"type", "container", "allowed_callers"}),
    "image_generation": frozenset(
        {"type", "model", "quality", "size", "background", "output_format", "partial_images"}
    ),
    "mcp": frozenset(
        {
            "type",
            "server_label",
            "server_url",
            "connector_id",
            "headers",
            "allowed_tools",
            "require_approval",
            "server_description",
            "authorization",
        }
    ),
    "local_shell": frozenset({"type"}),
    "shell": frozenset({"type", "environment", "allowed_callers"}),
    "apply_patch": frozenset({"type", "allowed_callers"}),
}
_ROLES = ("user", "assistant", "system", "developer")
_INPUT_PARTS = ("input_text", "input_image", "input_file", "input_audio")
_OUTPUT_PARTS = ("output_text", "refusal")
_PART_FIELDS = {
    "input_text": frozenset({"type", "text"}),
    "input_image": frozenset({"type", "image_url", "file_id", "detail"}),
    "input_file": frozenset({"type", "file_id", "file_data", "file_url", "filename"}),
    "input_audio": frozenset({"type", "input_audio"}),
    "output_text": frozenset({"type", "text", "annotations", "logprobs"}),
    "refusal": frozenset({"type", "refusal"}),
}
#: Item types and the fields each takes (messages are checked apart).
_ITEM_FIELDS: dict[str, frozenset[str]] = {
    "message": frozenset({"type", "role", "content", "id", "status", "phase"}),
    "function_call": frozenset(
        {"type", "id", "call_id", "name", "arguments", "status", "namespace"}
    ),
    "function_call_output": frozenset({"type", "id", "call_id", "output", "status"}),
    "custom_tool_call": frozenset({"type", "id", "call_id", "name", "input", "namespace"}),
    "custom_tool_call_output": frozenset({"type", "id", "call_id", "output"}),
    # A replayed reasoning item may not carry ``status`` (an output-only field).
    "reasoning": frozenset({"type", "id", "summary", "content", "encrypted_content"}),
    "local_shell_call": frozenset({"type", "id", "call_id", "action", "status"}),
    "local_shell_call_output": frozenset({"type", "id", "output", "status"}),
    "tool_search_call": frozenset({"type", "id", "call_id", "arguments", "execution", "status"}),
    "tool_search_output": frozenset({"type", "id", "call_id", "execution", "status", "tools"}),
    "web_search_call": frozenset({"type", "id", "action", "status"}),
    "item_reference": frozenset({"type", "id"}),
    "compaction": frozenset({"type", "id", "encrypted_content"}),
}
#: Calls and the output type that answers each.
_CALLS = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
    "local_shell_call": "local_shell_call_output",
    "tool_search_call": "tool_search_output",
}
_OUTPUTS = {v: k for k, v in _CALLS.items()}
#: What the model produces: what may follow a reasoning item.
_MODEL_ITEMS = frozenset(
    {"function_call", "custom_tool_call", "local_shell_call", "tool_search_call", "web_search_call"}
)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


def _values(values: tuple[str, ...] | list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


@dataclass(slots=True)
class Checked:
    """What the handler needs from a valid request."""

    items: list[dict[str, Any]]
    function_names: set[str] = field(default_factory=set)
    custom_names: set[str] = field(default_factory=set)
    local_shell: bool = False


class _Responses(_Checker):
    def invalid(self, value: Any, allowed: tuple[str, ...] | list[str], param: str) -> Exception:
        return self.fail(
            f"Invalid value: '{value}'. Supported values are: {_values(allowed)}.",
            param,
            "invalid_value",
        )

    def unknown_top(self, body: dict[str, Any]) -> None:
        for key in body:
            if key not in CREATE_FIELDS:
                raise self.fail(f"Unknown parameter: '{key}'.", key, "unknown_parameter")

    def string(self, value: Any, param: str) -> None:
        if not isinstance(value, str):
            raise self.bad_type(param, "a string", value)

    # -- input items --------------------------------------------------------
    def message(self, item: dict[str, Any], path: str) -> None:
        self.unknown(item, _ITEM_FIELDS["message"], path)
        role = item.get("role")
        if role is None:
            raise self.missing(f"{path}.role")
        if role not in _ROLES:
            raise self.invalid(role, _ROLES, f"{path}.role")
        content = item.get("content")
        if content is None:
            raise self.missing(f"{path}.content")
        if isinstance(content, str):
            return
        if not isinstance(content, list):
            raise self.bad_type(f"{path}.content", "one of a string or array of objects", content)
        allowed = _OUTPUT_PARTS if role == "assistant" else _INPUT_PARTS
        for j, part in enumerate(content):
            ppath = f"{path}.content[{j}]"
            if not isinstance(part, dict):
                raise self.bad_type(ppath, "an object", part)
            ptype = part.get("type")
            if ptype is None:
                raise self.missing(f"{ppath}.type")
            if ptype not in allowed:
                raise self.invalid(ptype, allowed, f"{ppath}.type")
            self.unknown(part, _PART_FIELDS[ptype], ppath)
            if ptype in ("input_text", "output_text"):
                if "text" not in part:
                    raise self.missing(f"{ppath}.text")
                self.string(part["text"], f"{ppath}.text")

    def item(self, item: Any, path: str) -> str:
        """Checks one item's own fields; returns its type."""
        if not isinstance(item, dict):
            raise self.bad_type(path, "an object", item)
        kind = item.get("type")
        if kind is None:
            if "role" in item:
                kind = "message"
            else:
                raise self.missing(f"{path}.type")
        if kind not in _ITEM_FIELDS:
            raise self.invalid(kind, sorted(_ITEM_FIELDS), f"{path}.type")
        if kind == "message":
            self.message(item, path)
            return kind
        self.unknown(item, _ITEM_FIELDS[kind], path)
        required = {
            "function_call": ("call_id", "name", "arguments"),
            "function_call_output": ("call_id", "output"),
            "custom_tool_call": ("call_id", "name", "input"),
            "custom_tool_call_output": ("call_id", "output"),
            "reasoning": ("summary",),
            "local_shell_call": ("call_id", "action"),
            "local_shell_call_output": ("id", "output"),
            "item_reference": ("id",),
        }.get(kind, ())
        for name in required:
            if name not in item:
                raise self.missing(f"{path}.{name}")
        if kind == "function_call":
            self.string(item["arguments"], f"{path}.arguments")
        if kind == "reasoning" and not isinstance(item["summary"], list):
            raise self.bad_type(f"{path}.summary", "an array", item["summary"])
        return kind


def validate_input(
    fail: Fail,
    items: list[Any],
    first_new: int,
    store: bool,
    verify: Any,
    known_ids: set[str],
) -> None:
    """The conversation's items: types and fields (new input only, at
    ``first_new`` on), calls answered, reasoning replayed as the API wants it.
    ``verify(encrypted_content)`` tells whether the emulator issued it;
    ``known_ids`` are items the emulator stored."""
    c = _Responses(ChatRules(), fail)
    kinds: list[str] = []
    for i, item in enumerate(items):
        if i >= first_new:
            kinds.append(c.item(item, f"input[{i - first_new}]"))
        else:
            kinds.append(str(item.get("type") or "message"))
    calls: dict[str, str] = {}
    answered: set[str] = set()
    for i, (item, kind) in enumerate(zip(items, kinds, strict=True)):
        if kind in _CALLS:
            calls[str(item.get("call_id"))] = kind
        elif kind in _OUTPUTS:
            call_id = str(item.get("call_id", item.get("id")))
            if kind == "local_shell_call_output":
                answered.add(call_id)
                continue
            if calls.get(call_id) != _OUTPUTS[kind]:
                noun = kind.removesuffix("_output").replace("_", " ")
                raise fail(
                    f"No tool call found for {noun} output with call_id {call_id}.", "input", None
                )
            answered.add(call_id)
        elif kind == "reasoning" and i >= first_new:
            _reasoning(fail, items, kinds, i, store, verify, known_ids)
        elif kind == "item_reference" and str(item.get("id")) not in known_ids:
            raise fail(f"Item with id '{item.get('id')}' not found.", "input", None)
    for call_id, kind in calls.items():
        if call_id not in answered and kind in ("function_call", "custom_tool_call"):
            raise fail(f"No tool output found for function call {call_id}.", "input", None)


def _reasoning(
    fail: Fail,
    items: list[Any],
    kinds: list[str],
    i: int,
    store: bool,
    verify: Any,
    known_ids: set[str],
) -> None:
    item = items[i]
    item_id = str(item.get("id", ""))
    encrypted = item.get("encrypted_content")
    if encrypted is not None:
        if not isinstance(encrypted, str) or not verify(encrypted):
            shown = f"{encrypted[:4]}...{encrypted[-4:]}" if isinstance(encrypted, str) else ""
            raise fail(
                f"The encrypted content {shown} could not be verified.",
                None,
                "invalid_encrypted_content",
            )
    elif item_id not in known_ids:
        hint = (
            " Items are not persisted when `store` is set to false. Try again with `store` set "
            "to true, or remove this item from your input."
            if not store
            else ""
        )
        raise fail(f"Item with id '{item_id}' not found.{hint}", "input", None)
    following = kinds[i + 1] if i + 1 < len(kinds) else None
    nxt = items[i + 1] if following is not None else None
    produced = following in _MODEL_ITEMS or (
        following == "message" and isinstance(nxt, dict) and nxt.get("role") == "assistant"
    )
    if not produced:
        raise fail(
            f"Item '{item_id}' of type 'reasoning' was provided without its required following item.",
            "input",
            None,
        )


def validate_request(fail: Fail, body: Any, reasoning_model: bool) -> Checked:
    """Everything but the conversation's items; raises the first problem."""
    if not isinstance(body, dict):
        raise fail("Invalid type for request body: expected an object.", None, "invalid_type")
    c = _Responses(ChatRules(), fail)
    c.unknown_top(body)
    if "model" not in body or body["model"] in (None, ""):
        raise c.missing("model")
    c.string(body["model"], "model")
    has_input = body.get("input") is not None
    continued = any(body.get(k) for k in ("previous_response_id", "prompt", "conversation"))
    if not has_input and not continued:
        raise c.missing("input")
    if has_input and not isinstance(body["input"], str | list):
        raise c.bad_type("input", "one of a string or array of objects", body["input"])
    for name in ("instructions", "previous_response_id", "prompt_cache_key"):
        if body.get(name) is not None:
            c.string(body[name], name)
    for name in ("stream", "store", "parallel_tool_calls", "background"):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise c.bad_type(name, "a boolean", value)
    if body.get("stream_options") is not None and not body.get("stream"):
        raise fail(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            None,
        )
    if isinstance(body.get("stream_options"), dict):
        c.unknown(body["stream_options"], frozenset({"include_obfuscation"}), "stream_options")
    c.number(body, "max_output_tokens", 16, None, integer=True)
    c.number(body, "max_tool_calls", 1, None, integer=True)
    c.number(body, "top_logprobs", 0, 20, integer=True)
    c.number(body, "temperature", 0, 2)
    c.number(body, "top_p", 0, 1)
    if reasoning_model:
        for name in ("temperature", "top_p"):
            if body.get(name) is not None:
                raise fail(
                    f"Unsupported parameter: '{name}' is not supported with this model.",
                    name,
                    "unsupported_parameter",
                )
    _include(c, body.get("include"))
    _text(c, body.get("text"))
    if body.get("truncation") not in (None, "auto", "disabled"):
        raise c.invalid(body["truncation"], ("auto", "disabled"), "truncation")
    checked = Checked(items=[])
    _tools(c, body.get("tools"), checked)
    _tool_choice(c, body.get("tool_choice"), body.get("tools"), checked)
    return checked


def _include(c: _Responses, include: Any) -> None:
    if include is None:
        return
    if not isinstance(include, list):
        raise c.bad_type("include", "an array", include)
    for i, value in enumerate(include):
        if value not in INCLUDABLE:
            raise c.invalid(value, INCLUDABLE, f"include[{i}]")


def _text(c: _Responses, text: Any) -> None:
    if text is None:
        return
    if not isinstance(text, dict):
        raise c.bad_type("text", "an object", text)
    c.unknown(text, frozenset({"format", "verbosity"}), "text")
    verbosity = text.get("verbosity")
    if verbosity is not None and verbosity not in ("low", "medium", "high"):
        raise c.invalid(verbosity, ("low", "medium", "high"), "text.verbosity")
    fmt = text.get("format")
    if fmt is None:
        return
    if not isinstance(fmt, dict) or "type" not in fmt:
        raise c.missing("text.format.type")
    kinds = ("text", "json_schema", "json_object")
    if fmt["type"] not in kinds:
        raise c.invalid(fmt["type"], kinds, "text.format.type")
    if fmt["type"] == "json_schema":
        c.unknown(
            fmt, frozenset({"type", "name", "schema", "strict", "description"}), "text.format"
        )
        for name in ("name", "schema"):
            if name not in fmt:
                raise c.missing(f"text.format.{name}")
        if fmt.get("strict") is True and isinstance(fmt["schema"], dict):
            where = ("response_format", "text.format.schema", "invalid_json_schema")
            _strict_schema(c, str(fmt["name"]), fmt["schema"], (), where)


def _function(c: _Responses, tool: dict[str, Any], path: str) -> str:
    if "name" not in tool:
        raise c.missing(f"{path}.name")
    name = tool["name"]
    c.string(name, f"{path}.name")
    c.max_length(name, 64, f"{path}.name")
    if not _TOOL_NAME.match(name):
        raise c.fail(
            f"Invalid '{path}.name': string does not match pattern. Expected a string that "
            "matches the pattern '^[a-zA-Z0-9_-]+$'.",
            f"{path}.name",
            "invalid_value",
        )
    return str(name)


def _tools(c: _Responses, tools: Any, checked: Checked, prefix: str = "tools") -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise c.bad_type(prefix, "an array", tools)
    for i, tool in enumerate(tools):
        path = f"{prefix}[{i}]"
        if not isinstance(tool, dict):
            raise c.bad_type(path, "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise c.missing(f"{path}.type")
        allowed = ("function", "custom") if prefix != "tools" else tuple(TOOL_TYPES)
        if kind not in allowed:
            raise c.invalid(kind, allowed, f"{path}.type")
        c.unknown(tool, TOOL_TYPES[kind], path)
        if kind == "function":
            name = _function(c, tool, path)
            params = tool.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise c.bad_type(f"{path}.parameters", "an object", params)
            if tool.get("strict") is True and isinstance(params, dict):
                where = ("function", f"{path}.parameters", "invalid_function_parameters")
                _strict_schema(c, name, params, (), where)
            checked.function_names.add(name)
        elif kind == "custom":
            checked.custom_names.add(_function(c, tool, path))
            _custom_format(c, tool.get("format"), f"{path}.format")
        elif kind == "namespace":
            _function(c, tool, path)
            _tools(c, tool.get("tools") or [], checked, f"{path}.tools")
        elif kind == "local_shell":
            checked.local_shell = True


def _custom_format(c: _Responses, fmt: Any, path: str) -> None:
    if fmt is None:
        return
    if not isinstance(fmt, dict):
        raise c.bad_type(path, "an object", fmt)
    kind = fmt.get("type")
    if kind not in ("text", "grammar"):
        raise c.invalid(kind, ("text", "grammar"), f"{path}.type")
    if kind == "grammar":
        c.unknown(fmt, frozenset({"type", "syntax", "definition"}), path)
        if fmt.get("syntax") not in ("lark", "regex"):
            raise c.invalid(fmt.get("syntax"), ("lark", "regex"), f"{path}.syntax")
        if not isinstance(fmt.get("definition"), str):
            raise c.missing(f"{path}.definition")


def _tool_choice(c: _Responses, choice: Any, tools: Any, checked: Checked) -> None:
    if choice is None or choice in ("auto", "none"):
        return
    if isinstance(choice, str):
        if choice != "required":
            raise c.invalid(choice, ("none", "auto", "required"), "tool_choice")
        if not tools:
            raise c.fail(
                "Tool choice 'required' must be specified with 'tools' parameter.",
                "tool_choice",
                None,
            )
        return
    if not isinstance(choice, dict):
        raise c.bad_type("tool_choice", "one of a string or object", choice)
    kind = choice.get("type")
    if kind in ("function", "custom"):
        names = checked.function_names if kind == "function" else checked.custom_names
        if choice.get("name") not in names:
            raise c.fail(
                f"Tool choice '{kind}' not found in 'tools' parameter.", "tool_choice", None
            )
