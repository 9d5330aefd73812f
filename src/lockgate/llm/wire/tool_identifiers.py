"""Tool-call ids and tool names rewritten to what each provider accepts.

Ids travel between providers: a conversation started on one model continues
on another (a failover target, a model switch), and its history keeps the ids
the first provider minted. Each provider constrains them differently:

- Anthropic: ``^[a-zA-Z0-9_-]+$`` for ``tool_use.id`` and ``tool_use_id``;
- OpenAI: a tool call id of at most 40 characters;
- Mistral: exactly nine characters ``[a-zA-Z0-9]``;
- OpenAI and Gemini: function names of at most 64 characters (Claude Code
  names MCP tools ``mcp__<server>__<tool>``, which Anthropic takes up to 128).

Every rewrite here is deterministic, so a tool call and its result, rewritten
separately, still pair; an id that already fits is kept as it is, and one that
is rewritten gets a hash of the original so that two ids never merge.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any

__all__ = [
    "MAX_OPENAI_TOOL_ID",
    "MAX_TOOL_NAME",
    "anthropic_tool_id",
    "client_tool_names",
    "mistral_tool_id",
    "openai_tool_id",
    "restore_gemini_tool_names",
    "short_tool_name",
    "shorten_gemini_tool_names",
    "tool_name_map",
]

#: OpenAI refuses a longer ``tool_calls[].id`` (``string_above_max_length``).
MAX_OPENAI_TOOL_ID = 40
#: OpenAI, Gemini and DashScope refuse longer function names.
MAX_TOOL_NAME = 64

_ANTHROPIC_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_ALNUM = string.ascii_letters + string.digits


def _digest(value: str, length: int) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:length]


def anthropic_tool_id(call_id: str) -> str:
    """An id Anthropic accepts: other characters become ``_``, plus a hash of the original."""
    if not call_id:
        return "toolu_empty"
    if not _ANTHROPIC_UNSAFE.search(call_id):
        return call_id
    return _ANTHROPIC_UNSAFE.sub("_", call_id) + "_" + _digest(call_id, 8)


def openai_tool_id(call_id: str) -> str:
    """An id of at most 40 characters: a long one keeps its head and gets a hash."""
    if len(call_id) <= MAX_OPENAI_TOOL_ID:
        return call_id
    return call_id[: MAX_OPENAI_TOOL_ID - 17] + "_" + _digest(call_id, 16)


def mistral_tool_id(call_id: str) -> str:
    """Nine letters and digits, derived from the id (Mistral's own ids are kept)."""
    if _MISTRAL_ID.match(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    out = []
    for _ in range(9):
        number, index = divmod(number, len(_ALNUM))
        out.append(_ALNUM[index])
    return "".join(out)


def short_tool_name(name: str) -> str:
    """A function name of at most 64 characters (longer ones: head, ``_``, 8-hex hash)."""
    if len(name) <= MAX_TOOL_NAME:
        return name
    return name[: MAX_TOOL_NAME - 9] + "_" + _digest(name, 8)


def tool_name_map(names: list[str]) -> dict[str, str]:
    """Shortened name -> original, for the names that had to be shortened."""
    return {short_tool_name(n): n for n in names if len(n) > MAX_TOOL_NAME}


def client_tool_names(body: dict[str, Any]) -> list[str]:
    """The tool names a client request declares (Anthropic ``tools[].name``,
    OpenAI ``tools[].function.name`` and legacy ``functions[].name``)."""
    names: list[str] = []
    for key in ("tools", "functions"):
        entries = body.get(key)
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict):
                continue
            function = entry.get("function")
            holder = function if isinstance(function, dict) else entry
            if isinstance(holder.get("name"), str):
                names.append(holder["name"])
    return names


def shorten_gemini_tool_names(body: dict[str, Any]) -> dict[str, Any]:
    """A GenerateContent body with every function name over 64 characters
    shortened (declarations, calls and responses in ``contents``,
    ``allowedFunctionNames``), in place; returns the body."""
    for tool in _dicts(body.get("tools")):
        for declaration in _dicts(tool.get("functionDeclarations")):
            _shorten(declaration)
    for content in _dicts(body.get("contents")):
        for part in _dicts(content.get("parts")):
            for key in ("functionCall", "functionResponse"):
                if isinstance(part.get(key), dict):
                    _shorten(part[key])
    config = body.get("toolConfig")
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    if isinstance(calling, dict) and isinstance(calling.get("allowedFunctionNames"), list):
        calling["allowedFunctionNames"] = [
            short_tool_name(n) if isinstance(n, str) else n for n in calling["allowedFunctionNames"]
        ]
    return body


def restore_gemini_tool_names(data: Any, names: dict[str, str]) -> Any:
    """A GenerateContent response or stream chunk whose function calls name a
    shortened function get the client's name back, in place; returns ``data``."""
    if not names or not isinstance(data, dict):
        return data
    for candidate in _dicts(data.get("candidates")):
        content = candidate.get("content")
        for part in _dicts(content.get("parts") if isinstance(content, dict) else None):
            call = part.get("functionCall")
            if isinstance(call, dict) and call.get("name") in names:
                call["name"] = names[call["name"]]
    return data


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _shorten(holder: dict[str, Any]) -> None:
    name = holder.get("name")
    if isinstance(name, str):
        holder["name"] = short_tool_name(name)
