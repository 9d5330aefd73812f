"""An Anthropic Messages client in front of an OpenAI-compatible upstream.

Request: Anthropic Messages body -> Chat Completions body (here). Response
and stream, OpenAI -> Anthropic: :mod:`lockgate.llm.wire.anthropic_openai_response`,
re-exported here so that this module is the pair's one entry point.

Constructs with no OpenAI meaning are dropped, never rejected (SPEC 7: a
request Claude Code can send never fails because of a translation limit):
``cache_control``, ``output_config.effort`` (it only refines
``reasoning_effort``), ``context_management``, ``top_k``,
prior ``thinking``/``redacted_thinking`` blocks, server tools (web search,
code execution: the upstream cannot run them) and their result blocks, and
every unknown field. Structured output (``output_config.format``, or the
beta's top-level ``output_format``) becomes ``response_format`` with a JSON
schema, strict only when the schema fits OpenAI's strict subset (so that a
schema Anthropic accepts is never refused). Which models take ``reasoning_effort`` and the
``max_tokens`` -> ``max_completion_tokens`` rename are the provider layer's
business, not this module's.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from lockgate.llm.wire.anthropic_openai_response import (
    OpenAIToAnthropicStream,
    openai_to_anthropic_response,
)
from lockgate.llm.wire.tool_identifiers import openai_tool_id, short_tool_name, tool_name_map

__all__ = [
    "OpenAIToAnthropicStream",
    "anthropic_to_openai_request",
    "openai_to_anthropic_response",
    "shortened_tool_names",
]

#: OpenAI rejects a ``user`` longer than this; Claude Code's ``metadata.user_id``
#: is a ~150-character JSON string, so longer ids are replaced by their SHA-256
#: (exactly 64 hex characters: still a stable per-user identifier).
MAX_USER_CHARS = 64
#: OpenAI accepts at most four stop sequences; the first four are kept.
MAX_STOP_SEQUENCES = 4

_SYSTEM_JOINER = "\n\n"
_ERROR_PREFIX = "Error: "
_MISSING_RESULT = "Error: the client sent no result for this tool call."
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high", "xhigh": "high"}


# --------------------------------------------------------------------- request


def _block_text(content: Any, joiner: str) -> str:
    """The text of a string or of a list of blocks (non-text blocks ignored)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        block["text"]
        for block in content
        if isinstance(block, dict) and isinstance(block.get("text"), str) and block["text"]
    ]
    return joiner.join(texts)


def _image_part(block: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic ``image`` block -> an ``image_url`` part (base64 becomes a data URI)."""
    source = block.get("source")
    if not isinstance(source, dict):
        source = {}
    kind = source.get("type")
    if kind == "base64":
        url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data') or ''}"
    elif kind == "url":
        url = source.get("url") or ""
    else:
        # Files API references cannot be resolved by another provider.
        return {
            "type": "text",
            "text": f"[image omitted: {kind or 'unknown'} source not available]",
        }
    return {"type": "image_url", "image_url": {"url": url}}


def _document_parts(block: dict[str, Any]) -> list[dict[str, Any]]:
    """An Anthropic ``document`` block -> text parts, or a ``file`` part for base64 PDFs."""
    source = block.get("source")
    if not isinstance(source, dict):
        source = {}
    kind = source.get("type")
    title = block.get("title")
    if kind == "text":
        text = source.get("data") or ""
        return [{"type": "text", "text": f"{title}\n\n{text}" if title else text}]
    if kind == "content":
        return [{"type": "text", "text": _block_text(source.get("content"), "\n")}]
    if kind == "base64":
        media_type = source.get("media_type") or "application/pdf"
        file = {
            "filename": title or "document.pdf",
            "file_data": f"data:{media_type};base64,{source.get('data') or ''}",
        }
        return [{"type": "file", "file": file}]
    if kind == "url":
        return [{"type": "text", "text": f"[document: {source.get('url') or ''}]"}]
    return [
        {"type": "text", "text": f"[document omitted: {kind or 'unknown'} source not available]"}
    ]


def _content_part(block: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    """Append the OpenAI parts for one user-side block (text, image, document)."""
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        if isinstance(text, str) and text:
            parts.append({"type": "text", "text": text})
    elif kind == "image":
        parts.append(_image_part(block))
    elif kind == "document":
        parts.extend(_document_parts(block))
    elif kind == "search_result":
        text = _block_text(block.get("content"), "\n")
        if text:
            parts.append({"type": "text", "text": text})
    # thinking, redacted_thinking, server tool blocks and unknown kinds are dropped.


def _tool_result(block: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """A ``tool_result`` -> (text for the ``tool`` message, image parts).

    OpenAI ``tool`` messages carry text only, so images a tool returned (a
    screenshot, an image file Claude Code read) travel in a user message right
    after the tool messages of the turn.
    """
    content = block.get("content")
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts: list[str] = []
        parts: list[dict[str, Any]] = []
        for item in content:
            if isinstance(item, dict):
                _content_part(item, parts)
        for part in parts:
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images.append(part)
        text = "\n".join(texts)
        if not text and images:
            text = (
                f"The tool returned {len(images)} image(s); they follow in the next user message."
            )
    else:
        text = ""
    if block.get("is_error") is True:
        text = _ERROR_PREFIX + text if text else "Error"
    return text, images


class _Conversation:
    """Builds the OpenAI message list, keeping tool calls and results paired.

    OpenAI rejects a ``tool`` message that does not answer a tool call of the
    assistant message just before it, and an assistant tool call left without
    an answer. So: results are emitted right after their call (a system entry
    that arrives in between waits until they are out); a result whose call is
    not pending becomes user text; a call left unanswered gets a synthetic
    error result.
    """

    __slots__ = ("_deferred", "_pending", "messages")

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self._pending: dict[str, None] = {}
        self._deferred: list[dict[str, Any]] = []

    def settle(self) -> None:
        """Answer unanswered calls, then release held system messages."""
        if self._pending:
            for call_id in self._pending:
                self.messages.append(
                    {"role": "tool", "tool_call_id": call_id, "content": _MISSING_RESULT}
                )
            self._pending.clear()
        if self._deferred:
            self.messages.extend(self._deferred)
            self._deferred.clear()

    def system(self, content: Any) -> None:
        text = _block_text(content, _SYSTEM_JOINER)
        if not text:
            return
        message = {"role": "system", "content": text}
        if self._pending:
            self._deferred.append(message)
        else:
            self.messages.append(message)

    def assistant(self, content: Any) -> None:
        self.settle()
        if isinstance(content, str):
            if content:
                self.messages.append({"role": "assistant", "content": content})
            return
        if not isinstance(content, list):
            return
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text:
                    texts.append(text)
            elif kind == "tool_use":
                call_id = block.get("id")
                if not isinstance(call_id, str) or not call_id:
                    call_id = f"toolu_{len(self.messages)}_{len(calls)}"
                else:
                    # Ids minted by Gemini carry a thought signature: too long for OpenAI.
                    call_id = openai_tool_id(call_id)
                    if call_id in self._pending:
                        continue  # a repeated id could never be answered twice
                name = block.get("name")
                arguments = orjson.dumps(block.get("input") or {}).decode()
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": short_tool_name(name) if isinstance(name, str) else "",
                            "arguments": arguments,
                        },
                    }
                )
                self._pending[call_id] = None
        if not texts and not calls:
            return  # only thinking (dropped) or empty text: OpenAI rejects an empty assistant turn
        message: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) or None}
        if calls:
            message["tool_calls"] = calls
        self.messages.append(message)

    def user(self, content: Any) -> None:
        if not isinstance(content, list):
            self.settle()
            self.messages.append({"role": "user", "content": content if content else ""})
            return
        parts: list[dict[str, Any]] = []
        tool_images: list[dict[str, Any]] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") != "tool_result":
                _content_part(block, parts)
                continue
            call_id = block.get("tool_use_id")
            if isinstance(call_id, str):
                call_id = openai_tool_id(call_id)
            text, images = _tool_result(block)
            if isinstance(call_id, str) and call_id in self._pending:
                del self._pending[call_id]
                self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
                if images:
                    tool_images.append(
                        {"type": "text", "text": f"Images returned by tool call {call_id}:"}
                    )
                    tool_images.extend(images)
            else:
                # No pending call to answer (e.g. the client trimmed history): keep it as text.
                parts.append({"type": "text", "text": f"Result of tool call {call_id}:\n{text}"})
                parts.extend(images)
        self.settle()
        if tool_images:
            parts = tool_images + parts
        if parts:
            self.messages.append({"role": "user", "content": parts})


def _tools(tools: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, dict) or not tool.get("name"):
            continue
        schema = tool.get("input_schema")
        if schema is None and tool.get("type") not in (None, "custom"):
            continue  # a server tool (web_search_..., bash_...): the upstream cannot run it
        function: dict[str, Any] = {"name": short_tool_name(str(tool["name"]))}
        if tool.get("description"):
            function["description"] = tool["description"]
        function["parameters"] = (
            schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
        )
        out.append({"type": "function", "function": function})
    return out


#: Keywords OpenAI's strict structured outputs refuse; a schema using one is sent non-strict.
_NOT_STRICT_KEYWORDS = frozenset(
    ("allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas",
     "patternProperties", "unevaluatedProperties", "propertyNames", "contains")
)  # fmt: skip


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    """Anthropic structured output -> OpenAI ``response_format`` (None: none asked)."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        fmt = body.get("output_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        return None
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": _fits_strict(schema)},
    }


def _fits_strict(schema: Any) -> bool:
    """OpenAI's strict mode wants every object closed (``additionalProperties:
    false``) with every property required, and none of a few keywords."""
    if not isinstance(schema, dict):
        return True
    if _NOT_STRICT_KEYWORDS.intersection(schema):
        return False
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            return False
        names = set(properties) if isinstance(properties, dict) else set()
        required = schema.get("required") or []
        if not isinstance(required, list) or set(required) != names:
            return False
    children: list[Any] = []
    for key in ("properties", "$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            children.extend(schema[key].values())
    for key in ("anyOf", "oneOf", "prefixItems"):
        if isinstance(schema.get(key), list):
            children.extend(schema[key])
    children.append(schema.get("items"))
    return all(_fits_strict(child) for child in children)


def _reasoning_effort(body: dict[str, Any]) -> str | None:
    """Anthropic ``thinking`` -> OpenAI ``reasoning_effort`` (None: leave it out).

    A budget maps by size; adaptive thinking takes the client's
    ``output_config.effort`` when it names one, else medium.
    """
    thinking = body.get("thinking")
    if not isinstance(thinking, dict):
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int):
            return "medium"
        return "low" if budget <= 4096 else "medium" if budget <= 16384 else "high"
    if kind == "adaptive":
        config = body.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        return _EFFORTS.get(effort, "medium") if isinstance(effort, str) else "medium"
    return None


def shortened_tool_names(body: dict[str, Any]) -> dict[str, str]:
    """The tool names of a request that OpenAI would refuse as too long, by
    the shortened name sent instead (to restore them in the answer)."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return {}
    return tool_name_map(
        [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]
    )


def anthropic_to_openai_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages request -> a Chat Completions request for ``model``.

    The system prompt becomes one system message (text blocks joined by a
    blank line, never truncated); system entries inside ``messages`` stay
    system messages at their place. User blocks become content parts (a plain
    string stays a string); assistant text is joined into one string and
    ``tool_use`` becomes ``tool_calls`` (``content: null`` when there is no
    text). Each ``tool_result`` becomes a ``tool`` message, before the turn's
    other content; ``is_error`` prefixes ``Error: ``. Tool-call ids longer
    than OpenAI takes and tool names over 64 characters are shortened
    (:mod:`lockgate.llm.wire.tool_identifiers`).
    """
    messages: list[dict[str, Any]] = []
    conversation = _Conversation(messages)
    system = body.get("system")
    if system:
        conversation.system(system)
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        content = message.get("content")
        if role == "user":
            conversation.user(content)
        elif role == "assistant":
            conversation.assistant(content)
        elif role == "system":
            conversation.system(content)
    conversation.settle()

    out: dict[str, Any] = {"model": model, "messages": messages}
    if "max_tokens" in body:
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop_sequences")
    if isinstance(stop, list) and stop:
        out["stop"] = stop[:MAX_STOP_SEQUENCES]
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    elif "stream" in body:
        out["stream"] = False

    tools = _tools(body["tools"]) if isinstance(body.get("tools"), list) else []
    if tools:
        # tool_choice and parallel_tool_calls are rejected without tools.
        out["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            kind = choice.get("type")
            if kind == "auto":
                out["tool_choice"] = "auto"
            elif kind == "any":
                out["tool_choice"] = "required"
            elif kind == "none":
                out["tool_choice"] = "none"
            elif kind == "tool" and choice.get("name"):
                name = short_tool_name(str(choice["name"]))
                out["tool_choice"] = {"type": "function", "function": {"name": name}}
            if choice.get("disable_parallel_tool_use") is True:
                out["parallel_tool_calls"] = False

    effort = _reasoning_effort(body)
    if effort is not None:
        out["reasoning_effort"] = effort
    response_format = _response_format(body)
    if response_format is not None:
        out["response_format"] = response_format
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id:
        if len(user_id) > MAX_USER_CHARS:
            user_id = hashlib.sha256(user_id.encode()).hexdigest()
        out["user"] = user_id
    return out
