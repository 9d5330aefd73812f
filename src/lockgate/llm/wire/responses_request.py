"""A Responses API request -> the conversation model (an Anthropic Messages
request, docs/translation.md), for every upstream that is not OpenAI's own
Responses API.

Input items map onto Anthropic turns: messages by role (system and developer
ones join ``instructions`` in ``system``), ``function_call`` /
``custom_tool_call`` / ``local_shell_call`` items become ``tool_use`` blocks
of an assistant turn, their outputs ``tool_result`` blocks of a user turn.
Reasoning items come back as thinking only when lockgate minted them from a
signed thinking block (their ``encrypted_content`` carries the signature,
see :func:`thinking_content`); another provider's encrypted reasoning and
bare summaries are dropped, since no other upstream can verify them and
Anthropic refuses unsigned thinking.

Codex's tools: ``function`` tools become Anthropic tools; a ``custom``
(freeform, e.g. ``apply_patch``) tool becomes a tool taking one string,
``input``; ``local_shell`` a tool taking the command as an array.
Hosted tools (``web_search``, ``file_search``, MCP, ...) have no form on a
translated upstream and are left out.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from lockgate.llm.wire.anthropic_schema import anthropic_output_schema
from lockgate.llm.wire.openai import arguments_input
from lockgate.llm.wire.openai_anthropic import (
    MAX_USER_CHARS,
    MIN_THINKING_BUDGET,
    THINKING_BUDGETS,
    _append,
    _data_uri_source,
    _pair_tool_results,
    _strip_final_whitespace,
    _unique_tool_use_ids,
)
from lockgate.llm.wire.request_checks import RequestProblem
from lockgate.llm.wire.tool_identifiers import anthropic_tool_id

__all__ = [
    "CUSTOM_INPUT",
    "LOCAL_SHELL",
    "REDACTED_PREFIX",
    "THINKING_PREFIX",
    "custom_tool_names",
    "responses_to_anthropic_request",
    "stateless_problem",
    "thinking_content",
]

#: The one property of the object a custom (freeform) tool's call carries.
CUSTOM_INPUT = "input"
#: The tool name a ``local_shell`` tool gets upstream.
LOCAL_SHELL = "local_shell"
#: ``encrypted_content`` of reasoning items lockgate minted from Anthropic
#: thinking: the block's signature, or a redacted block's data, follows.
THINKING_PREFIX = "lockgate.thinking:"
REDACTED_PREFIX = "lockgate.redacted:"
#: Reasoning efforts above Anthropic's top budget.
_EFFORTS = {**THINKING_BUDGETS, "xhigh": THINKING_BUDGETS["high"]}
_JSON_OBJECT_INSTRUCTION = (
    "Answer with a single valid JSON object and nothing else: no prose before or "
    "after it, no code fences."
)
_LOCAL_SHELL_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {"type": "array", "items": {"type": "string"}},
        "working_directory": {"type": "string"},
        "timeout_ms": {"type": "integer"},
    },
    "required": ["command"],
}


def stateless_problem(body: dict[str, Any], provider: str) -> RequestProblem | None:
    """A field that needs state lockgate does not keep (the response or
    conversation a translated upstream never stored): a clear 400 naming it.
    ``store: true`` needs nothing kept and is ignored."""
    for name in ("previous_response_id", "conversation"):
        if body.get(name):
            return RequestProblem(
                f"'{name}' is not supported on this route: its model is served by "
                f"{provider}, and lockgate keeps no response state. Send the whole "
                "conversation in 'input' instead (as clients do with store: false).",
                name,
                "unsupported_parameter",
            )
    return None


def thinking_content(block: dict[str, Any]) -> str | None:
    """The ``encrypted_content`` that brings a thinking block back (None: none can)."""
    if block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str):
        return REDACTED_PREFIX + block["data"]
    signature = block.get("signature")
    if isinstance(signature, str) and signature:
        return THINKING_PREFIX + signature
    return None


def custom_tool_names(body: dict[str, Any]) -> frozenset[str]:
    """The request's custom (freeform) tools: their calls go back as ``custom_tool_call``."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return frozenset()
    return frozenset(
        t["name"]
        for t in tools
        if isinstance(t, dict) and t.get("type") == "custom" and isinstance(t.get("name"), str)
    )


# -- content -------------------------------------------------------------------


def _text_block(text: Any) -> dict[str, Any] | None:
    # Anthropic refuses empty and whitespace-only text blocks.
    return {"type": "text", "text": text} if isinstance(text, str) and text.strip() else None


def _image_block(part: dict[str, Any]) -> dict[str, Any] | None:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        return None  # an uploaded file id means nothing to another provider
    if url.startswith("data:"):
        source = _data_uri_source(url)
        return {"type": "image", "source": source} if source is not None else None
    return {"type": "image", "source": {"type": "url", "url": url}}


def _file_block(part: dict[str, Any]) -> dict[str, Any] | None:
    data = part.get("file_data")
    if isinstance(data, str) and data:
        source = _data_uri_source(data)
        if source is None:  # bare base64, as the SDK examples send it
            source = {"type": "base64", "media_type": "application/pdf", "data": data}
        return {"type": "document", "source": source}
    url = part.get("file_url")
    if isinstance(url, str) and url:
        return {"type": "document", "source": {"type": "url", "url": url}}
    return None


def _part_block(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
        return _text_block(part.get("text"))
    if kind == "refusal":
        return _text_block(part.get("refusal"))
    if kind == "input_image":
        return _image_block(part)
    if kind == "input_file":
        return _file_block(part)
    return None  # input_audio and unknown kinds


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        block = _text_block(content)
        return [block] if block is not None else []
    if not isinstance(content, list):
        return []
    return [b for b in (_part_block(p) for p in content) if b is not None]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n\n".join(
        b["text"] for b in _content_blocks(content) if b["type"] == "text" and b["text"]
    )


def _call_id(item: dict[str, Any]) -> str:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        call_id = item.get("id")
    return anthropic_tool_id(call_id if isinstance(call_id, str) else "")


def _tool_result(item: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": _call_id(item)}
    output = item.get("output")
    if isinstance(output, str):
        if output:
            block["content"] = output
    elif isinstance(output, list):
        blocks = [b for b in _content_blocks(output) if b["type"] in ("text", "image")]
        if blocks:
            block["content"] = blocks
    elif output is not None:
        block["content"] = orjson.dumps(output).decode()
    return block


def _reasoning_block(item: dict[str, Any]) -> dict[str, Any] | None:
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str):
        return None
    if encrypted.startswith(REDACTED_PREFIX):
        return {"type": "redacted_thinking", "data": encrypted[len(REDACTED_PREFIX) :]}
    if not encrypted.startswith(THINKING_PREFIX):
        return None  # another provider's reasoning: only it could read it
    texts = [
        part["text"]
        for part in item.get("summary") or ()
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    return {
        "type": "thinking",
        "thinking": "".join(texts),
        "signature": encrypted[len(THINKING_PREFIX) :],
    }


def _item(item: dict[str, Any], system: list[dict[str, Any]], turns: list[dict[str, Any]]) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role in ("system", "developer"):
            text = _text_of(item.get("content"))
            if text:
                system.append({"type": "text", "text": text})
        elif role in ("user", "assistant"):
            _append(turns, role, _content_blocks(item.get("content")))
    elif kind == "function_call":
        name = item.get("name")
        block = {
            "type": "tool_use",
            "id": _call_id(item),
            "name": name if isinstance(name, str) else "",
            "input": arguments_input(item.get("arguments")),
        }
        _append(turns, "assistant", [block])
    elif kind == "custom_tool_call":
        name, raw = item.get("name"), item.get("input")
        block = {
            "type": "tool_use",
            "id": _call_id(item),
            "name": name if isinstance(name, str) else "",
            "input": {CUSTOM_INPUT: raw if isinstance(raw, str) else ""},
        }
        _append(turns, "assistant", [block])
    elif kind == "local_shell_call":
        action = item.get("action")
        shell_input = (
            {k: v for k, v in action.items() if k != "type"} if isinstance(action, dict) else {}
        )
        block = {
            "type": "tool_use",
            "id": _call_id(item),
            "name": LOCAL_SHELL,
            "input": shell_input,
        }
        _append(turns, "assistant", [block])
    elif kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
        _append(turns, "user", [_tool_result(item)])
    elif kind == "reasoning":
        thinking = _reasoning_block(item)
        if thinking is not None:
            _append(turns, "assistant", [thinking])
    # item_reference, hosted tool calls (web_search_call, ...): nothing to carry


def _unsigned_tool_turn(turns: list[dict[str, Any]]) -> bool:
    """Whether the conversation answers tool calls of an assistant turn that
    has no thinking block first."""
    if len(turns) < 2 or turns[-1]["role"] != "user":
        return False
    last = turns[-2]["content"]
    return any(b["type"] == "tool_use" for b in last) and last[0]["type"] not in (
        "thinking",
        "redacted_thinking",
    )


def _tools(tools: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        name = tool.get("name")
        description = tool.get("description")
        converted: dict[str, Any]
        if kind == "function" and isinstance(name, str) and name:
            schema = tool.get("parameters")
            if not isinstance(schema, dict):
                schema = {"type": "object", "properties": {}}
            elif "type" not in schema:
                schema = {"type": "object", **schema}
            converted = {"name": name, "input_schema": schema}
        elif kind == "custom" and isinstance(name, str) and name:
            converted = {
                "name": name,
                "input_schema": {
                    "type": "object",
                    "properties": {
                        CUSTOM_INPUT: {"type": "string", "description": _grammar_hint(tool)}
                    },
                    "required": [CUSTOM_INPUT],
                },
            }
        elif kind == "local_shell":
            converted = {"name": LOCAL_SHELL, "input_schema": _LOCAL_SHELL_SCHEMA}
            description = description or "Run a command in the local shell."
        else:
            continue
        if isinstance(description, str) and description:
            converted["description"] = description
        out.append(converted)
    return out


def _grammar_hint(tool: dict[str, Any]) -> str:
    """A freeform tool's input as one string; its grammar, when given, says what it must match."""
    fmt = tool.get("format")
    definition = fmt.get("definition") if isinstance(fmt, dict) else None
    if isinstance(definition, str) and definition:
        syntax = fmt.get("syntax") if isinstance(fmt, dict) else None
        return f"The raw input, matching this {syntax or 'grammar'} grammar:\n{definition}"
    return "The raw input, as plain text."


def _tool_choice(choice: Any, parallel: Any, names: set[str]) -> dict[str, Any] | None:
    result: dict[str, Any] | None = None
    if choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}  # takes no disable_parallel_tool_use
    elif isinstance(choice, dict):
        kind = choice.get("type")
        name = LOCAL_SHELL if kind == "local_shell" else choice.get("name")
        if kind in ("function", "custom", "local_shell") and name in names:
            result = {"type": "tool", "name": name}
        elif kind == "allowed_tools" and choice.get("mode") == "required":
            result = {"type": "any"}
    if parallel is False:
        result = result or {"type": "auto"}
        result["disable_parallel_tool_use"] = True
    return result


def _text_format(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    return fmt if isinstance(fmt, dict) else None


def responses_to_anthropic_request(
    body: dict[str, Any], model: str, default_max_tokens: int = 4096
) -> dict[str, Any]:
    """A Responses request -> an Anthropic Messages request for ``model``.

    ``max_output_tokens`` becomes ``max_tokens`` (``default_max_tokens`` when
    unset); ``reasoning.effort`` a thinking budget as for Chat clients (it
    must fit in half of a client's limit, else no thinking; it is added to the
    default); ``text.format`` a ``json_schema`` output format, or for
    ``json_object`` an instruction. Sampling follows Anthropic's rules
    (thinking drops temperature; temperature clamped to 0..1).
    """
    tools = _tools(body["tools"]) if isinstance(body.get("tools"), list) else []
    names = {t["name"] for t in tools}
    choice = (
        _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"), names)
        if tools
        else None
    )
    requested = body.get("max_output_tokens")
    client_limit = isinstance(requested, int) and not isinstance(requested, bool) and requested > 0
    max_tokens = requested if client_limit and isinstance(requested, int) else default_max_tokens
    # Anthropic refuses thinking when tool_choice forces a tool; the forced tool wins.
    forced = choice is not None and choice["type"] in ("any", "tool")
    thinking_budget = 0
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if isinstance(effort, str) and effort in _EFFORTS and not forced:
        thinking_budget = _EFFORTS[effort]
        if client_limit:
            thinking_budget = min(thinking_budget, max_tokens // 2)
        else:
            max_tokens += thinking_budget
        if thinking_budget < MIN_THINKING_BUDGET:
            thinking_budget = 0

    system: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        if instructions.strip():
            system.append({"type": "text", "text": instructions})
    elif isinstance(instructions, list):
        for item in instructions:
            if isinstance(item, dict):
                text = _text_of(item.get("content"))
                if text:
                    system.append({"type": "text", "text": text})
    turns: list[dict[str, Any]] = []
    items = body.get("input")
    if isinstance(items, str):
        _append(turns, "user", _content_blocks(items))
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and (thinking_budget or item.get("type") != "reasoning"):
                # Without thinking on, replayed thinking only costs tokens.
                _item(item, system, turns)
    turns = _pair_tool_results(_unique_tool_use_ids(turns))
    if turns and turns[-1]["role"] == "assistant":
        _strip_final_whitespace(turns)
    if thinking_budget and _unsigned_tool_turn(turns):
        # Anthropic refuses thinking when the tool turn being answered does not
        # start with its signed thinking (another provider's, dropped above).
        thinking_budget = 0

    fmt = _text_format(body)
    schema = fmt.get("schema") if fmt is not None and fmt.get("type") == "json_schema" else None
    if fmt is not None and fmt.get("type") in ("json_object", "json_schema") and schema is None:
        system.append({"type": "text", "text": _JSON_OBJECT_INSTRUCTION})

    out: dict[str, Any] = {"model": model}
    if system:
        out["system"] = system
    out["messages"] = turns
    out["max_tokens"] = max_tokens
    if thinking_budget:
        out["thinking"] = {"type": "enabled", "budget_tokens": thinking_budget}
        top_p = body.get("top_p")
        if isinstance(top_p, (int, float)) and not isinstance(top_p, bool) and top_p >= 0.95:
            out["top_p"] = top_p
    else:
        temperature = body.get("temperature")
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
            out["temperature"] = min(max(temperature, 0), 1)
        else:
            top_p = body.get("top_p")
            if isinstance(top_p, (int, float)) and not isinstance(top_p, bool):
                out["top_p"] = top_p
    if body.get("stream") is True:
        out["stream"] = True
    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
    if isinstance(schema, dict):
        out["output_config"] = {
            "format": {"type": "json_schema", "schema": anthropic_output_schema(schema)}
        }
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str) and user:
        if len(user) > MAX_USER_CHARS:
            user = hashlib.sha256(user.encode()).hexdigest()
        out["metadata"] = {"user_id": user}
    return out
