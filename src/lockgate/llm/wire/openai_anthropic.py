"""An OpenAI Chat Completions client in front of an Anthropic upstream.

Request: Chat Completions body -> Anthropic Messages body. Response: an
Anthropic message -> a chat completion. Stream: Anthropic events -> chat
completion chunks, incrementally.

Structured output: ``response_format`` ``json_schema`` becomes
``output_config.format`` with the schema reduced to the subset Anthropic's
grammar compiles (:mod:`lockgate.llm.wire.anthropic_schema`; the name and
``strict`` have no Anthropic field). ``json_object`` asks for "any JSON
object", which ``output_config.format`` cannot say (every object there must be
closed with ``additionalProperties: false``, so a permissive object schema
would only admit ``{}``). It becomes a forced call of one tool,
:data:`JSON_OBJECT_TOOL`, whose ``input_schema`` is ``{"type": "object"}``:
a tool's input is always a JSON object and tool schemas may be open; the
call's input comes back as the message ``content`` (streamed as content
deltas) with ``finish_reason: stop``. Anthropic refuses a forced tool beside
thinking, and a forced tool would keep the client's own tools from being
called, so with ``reasoning_effort`` or client tools ``json_object`` becomes a
system instruction instead (the best the API allows; OpenAI itself requires
the prompt to ask for JSON in this mode).

Dropped, as Anthropic has no equivalent: ``n``, ``logprobs``,
``top_logprobs``, ``presence_penalty``, ``frequency_penalty``, ``logit_bias``,
``seed``, ``stream_options`` (the caller passes
``include_usage`` to the stream translator), audio and legacy ``functions``,
prior ``reasoning_content`` (Anthropic needs signed thinking blocks), and every
unknown field.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import usage_from_anthropic
from lockgate.llm.wire.anthropic_schema import anthropic_output_schema
from lockgate.llm.wire.openai import arguments_input
from lockgate.llm.wire.tool_identifiers import anthropic_tool_id

__all__ = [
    "FINISH_REASONS",
    "JSON_OBJECT_TOOL",
    "anthropic_to_openai_response",
    "completion_id",
    "json_object_tool",
    "openai_to_anthropic_request",
    "openai_usage",
]

#: Thinking budgets for OpenAI's reasoning efforts. They sit at the top of the
#: ranges the reverse direction maps back (<= 4096 low, <= 16384 medium).
THINKING_BUDGETS = {"minimal": 1024, "low": 4096, "medium": 16384, "high": 32768}
#: Anthropic's smallest thinking budget.
MIN_THINKING_BUDGET = 1024
#: Anthropic's longest ``metadata.user_id``; longer ids are replaced by their SHA-256.
MAX_USER_CHARS = 256

#: Anthropic stop reasons -> OpenAI finish reasons.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_MISSING_RESULT = "Error: the client sent no result for this tool call."
#: The tool whose forced call carries a ``json_object`` answer.
JSON_OBJECT_TOOL = "json_object"
_JSON_OBJECT_DESCRIPTION = (
    "Give your complete answer by calling this tool: its input is the JSON object "
    "the user asked for."
)
_JSON_OBJECT_INSTRUCTION = (
    "Answer with a single valid JSON object and nothing else: no prose before or "
    "after it, no code fences."
)

# --------------------------------------------------------------------- request


def _text_of(content: Any) -> str:
    """The text of a string or of a list of parts (non-text parts ignored)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n\n".join(
        part["text"]
        for part in content
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
    )


#: Leading bytes of the image formats Anthropic takes, base64-encoded (a base64
#: prefix of 4 characters encodes exactly 3 bytes, so the prefixes compare as text).
_IMAGE_SIGNATURES = (
    ("iVBORw", "image/png"),  # \x89PNG
    ("/9j/", "image/jpeg"),  # \xff\xd8\xff
    ("R0lGOD", "image/gif"),  # GIF8
    ("UklGR", "image/webp"),  # RIFF
)


def _sniffed_media_type(data: str, declared: str) -> str:
    """The media type of base64 image data by its first bytes; Anthropic refuses
    an image whose declared type is not the one its bytes show."""
    if declared.startswith("image/"):
        for prefix, media_type in _IMAGE_SIGNATURES:
            if data.startswith(prefix):
                return media_type
    return declared


def _data_uri_source(url: str) -> dict[str, Any] | None:
    """``data:<type>;base64,<data>`` -> an Anthropic base64 source (None if not one)."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        return None
    media_type = _sniffed_media_type(data, head[5:-7] or "image/png")
    return {"type": "base64", "media_type": media_type, "data": data}


def _part_block(part: dict[str, Any]) -> dict[str, Any] | None:
    """One OpenAI content part -> an Anthropic block (None: dropped)."""
    kind = part.get("type")
    if kind == "text" or kind == "refusal":
        text = part.get(kind)
        # Anthropic refuses empty and whitespace-only text blocks.
        return {"type": "text", "text": text} if isinstance(text, str) and text.strip() else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            return None
        if url.startswith("data:"):
            # Anthropic takes base64 data only (a URL-encoded SVG, say, is dropped).
            source = _data_uri_source(url)
            return {"type": "image", "source": source} if source is not None else None
        return {"type": "image", "source": {"type": "url", "url": url}}
    if kind == "file":
        file = part.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        source = _data_uri_source(data) if isinstance(data, str) else None
        if source is None:
            return None  # an uploaded file id means nothing to Anthropic
        return {"type": "document", "source": source}
    return None  # input_audio and unknown kinds


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    """A message's content (string or parts) -> Anthropic blocks, empty text left out."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    if not isinstance(content, list):
        return []
    blocks = []
    for part in content:
        if isinstance(part, dict):
            block = _part_block(part)
            if block is not None:
                blocks.append(block)
    return blocks


def _assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = _content_blocks(message.get("content"))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        blocks.append({"type": "text", "text": refusal})
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            if not isinstance(call, dict):
                continue
            function = call.get("function")
            if not isinstance(function, dict):
                continue
            call_id = call.get("id")
            blocks.append(
                {
                    "type": "tool_use",
                    "id": anthropic_tool_id(call_id if isinstance(call_id, str) else ""),
                    "name": function.get("name") or "",
                    "input": arguments_input(function.get("arguments")),
                }
            )
    return blocks


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": anthropic_tool_id(call_id if isinstance(call_id, str) else ""),
    }
    content = message.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
    else:
        blocks = [b for b in _content_blocks(content) if b["type"] in ("text", "image")]
        if blocks:
            block["content"] = blocks
    return block


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Add blocks as a turn, merged into the previous one of the same role (Anthropic alternates)."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _pair_tool_results(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make every ``tool_use`` answered in the next user turn, and every answer expected.

    Anthropic rejects a ``tool_use`` whose result is not in the next user
    turn, a result answering no call of the previous turn, and results placed
    after text. So results go first in their turn, unanswered calls get an
    error result, and stray results become text.
    """
    out: list[dict[str, Any]] = []
    expected: list[str] = []
    for turn in turns:
        if turn["role"] == "assistant":
            if expected:
                out.append({"role": "user", "content": _missing_results(expected)})
            expected = [b["id"] for b in turn["content"] if b["type"] == "tool_use"]
            out.append(turn)
            continue
        results: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for block in turn["content"]:
            if block["type"] != "tool_result":
                others.append(block)
            elif block["tool_use_id"] in expected:
                expected.remove(block["tool_use_id"])
                results.append(block)
            else:
                text = _text_of(block.get("content")) or "(empty)"
                others.append(
                    {"type": "text", "text": f"Result of tool call {block['tool_use_id']}:\n{text}"}
                )
        results.extend(_missing_results(expected))
        expected = []
        out.append({"role": "user", "content": results + others})
    if expected:
        out.append({"role": "user", "content": _missing_results(expected)})
    return out


def _unique_tool_use_ids(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic refuses a turn whose ``tool_use`` ids repeat; some clients and
    servers give parallel calls one id (``edit:22`` twice, ``call_0``). A
    repeat gets a suffix, and the results that follow take the ids in order."""
    renamed: dict[str, list[str]] = {}
    for turn in turns:
        if turn["role"] == "assistant":
            renamed = {}
            for block in turn["content"]:
                if block["type"] != "tool_use":
                    continue
                ids = renamed.setdefault(block["id"], [])
                new_id = block["id"] if not ids else f"{block['id']}_{len(ids) + 1}"
                ids.append(new_id)
                block["id"] = new_id
            renamed = {k: v for k, v in renamed.items() if len(v) > 1}
            continue
        for block in turn["content"]:
            queue = (
                renamed.get(block.get("tool_use_id", ""))
                if block["type"] == "tool_result"
                else None
            )
            if queue:
                block["tool_use_id"] = queue.pop(0)
    return turns


def _missing_results(ids: list[str]) -> list[dict[str, Any]]:
    return [
        {"type": "tool_result", "tool_use_id": i, "content": _MISSING_RESULT, "is_error": True}
        for i in ids
    ]


def _tools(tools: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue  # custom (grammar) tools have no Anthropic equivalent
        function = tool.get("function")
        if not isinstance(function, dict):
            continue
        name = function.get("name")
        if not name:
            continue
        schema = function.get("parameters")
        if not isinstance(schema, dict):
            schema = {"type": "object", "properties": {}}
        elif "type" not in schema:
            schema = {"type": "object", **schema}
        converted: dict[str, Any] = {"name": name}
        if function.get("description"):
            converted["description"] = function["description"]
        converted["input_schema"] = schema
        out.append(converted)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = None
    if choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}  # takes no disable_parallel_tool_use
    elif isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if name:
            result = {"type": "tool", "name": name}
    if parallel is False:
        result = result or {"type": "auto"}
        result["disable_parallel_tool_use"] = True
    return result


def _json_schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of a ``json_schema`` response format (None: not one, or no schema)."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else None


def _wants_json_object(body: dict[str, Any]) -> bool:
    """``json_object``, or ``json_schema`` without a schema (which says no more)."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return False
    return fmt.get("type") == "json_object" or (
        fmt.get("type") == "json_schema" and _json_schema_of(body) is None
    )


def _declares_tools(body: dict[str, Any]) -> bool:
    tools = body.get("tools")
    return isinstance(tools, list) and bool(_tools(tools))


def json_object_tool(body: dict[str, Any]) -> str | None:
    """The tool name whose forced call answers this request's ``json_object``
    format (None: the request does not use one). The request and the response
    translators decide it from the same client body."""
    if not _wants_json_object(body) or _declares_tools(body):
        return None
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in THINKING_BUDGETS:
        return None
    return JSON_OBJECT_TOOL


def openai_to_anthropic_request(
    body: dict[str, Any], model: str, default_max_tokens: int = 4096
) -> dict[str, Any]:
    """A Chat Completions request -> an Anthropic Messages request for ``model``.

    System and developer messages, wherever they are, become the ``system``
    blocks in order (Anthropic has no system turn). Tool messages become
    ``tool_result`` blocks of a user turn; consecutive turns of one role are
    merged. ``max_tokens`` is required: ``max_completion_tokens``, then
    ``max_tokens``, then ``default_max_tokens``. ``reasoning_effort`` becomes
    a thinking budget (:data:`THINKING_BUDGETS`) that must fit in half of
    ``max_tokens`` when the client set it (else no thinking), or is added to the
    default; no thinking when ``tool_choice`` forces a tool (Anthropic refuses
    the pair); with thinking on, ``temperature``/``top_k`` are dropped and
    ``top_p`` kept only from 0.95 (Anthropic's rules). ``temperature`` is
    clamped to Anthropic's 0..1.
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system.append({"type": "text", "text": text})
        elif role == "user":
            _append(turns, "user", _content_blocks(message.get("content")))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message)])
    turns = _pair_tool_results(_unique_tool_use_ids(turns))
    if turns and turns[-1]["role"] == "assistant":
        _strip_final_whitespace(turns)

    json_tool = json_object_tool(body)
    if json_tool is None and _wants_json_object(body):
        system.append({"type": "text", "text": _JSON_OBJECT_INSTRUCTION})

    out: dict[str, Any] = {"model": model}
    if system:
        out["system"] = system
    out["messages"] = turns
    requested = body.get("max_completion_tokens")
    if not isinstance(requested, int):
        requested = body.get("max_tokens")
    client_limit = isinstance(requested, int) and not isinstance(requested, bool) and requested > 0
    max_tokens = requested if client_limit and isinstance(requested, int) else default_max_tokens

    tools = _tools(body["tools"]) if isinstance(body.get("tools"), list) else []
    choice = (
        _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls")) if tools else None
    )
    if json_tool is not None:
        tools = [
            {
                "name": json_tool,
                "description": _JSON_OBJECT_DESCRIPTION,
                "input_schema": {"type": "object"},
            }
        ]
        choice = {"type": "tool", "name": json_tool}
    # Anthropic refuses thinking when tool_choice forces a tool; the forced tool wins.
    forced = choice is not None and choice["type"] in ("any", "tool")
    thinking_budget = 0
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in THINKING_BUDGETS and not forced:
        thinking_budget = THINKING_BUDGETS[effort]
        if client_limit:
            thinking_budget = min(thinking_budget, max_tokens // 2)
        else:
            max_tokens += thinking_budget
        if thinking_budget < MIN_THINKING_BUDGET:
            thinking_budget = 0
    out["max_tokens"] = max_tokens
    if thinking_budget:
        out["thinking"] = {"type": "enabled", "budget_tokens": thinking_budget}
        top_p = body.get("top_p")
        if isinstance(top_p, (int, float)) and top_p >= 0.95:
            out["top_p"] = top_p
    else:
        temperature = body.get("temperature")
        if isinstance(temperature, (int, float)):
            out["temperature"] = min(max(temperature, 0), 1)
        # Claude 4.1 and later refuse temperature and top_p together; temperature wins.
        for key in ("top_k",) if "temperature" in out else ("top_p", "top_k"):
            if body.get(key) is not None:
                out[key] = body[key]

    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    # Anthropic rejects empty and whitespace-only stop sequences.
    stop_sequences = [s for s in stops if isinstance(s, str) and s.strip()]
    if stop_sequences:
        out["stop_sequences"] = stop_sequences
    if body.get("stream") is True:
        out["stream"] = True

    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
    schema = _json_schema_of(body)
    if schema is not None:
        out["output_config"] = {
            "format": {"type": "json_schema", "schema": anthropic_output_schema(schema)}
        }
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        if len(user) > MAX_USER_CHARS:
            user = hashlib.sha256(user.encode()).hexdigest()
        out["metadata"] = {"user_id": user}
    return out


def _strip_final_whitespace(turns: list[dict[str, Any]]) -> None:
    """Anthropic rejects a final (prefill) assistant turn ending in whitespace."""
    content = turns[-1]["content"]
    last = content[-1]
    if last["type"] == "text":
        last["text"] = last["text"].rstrip()
        if not last["text"]:
            content.pop()
            if not content:
                turns.pop()


# -------------------------------------------------------------------- response


def openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def completion_id(upstream_id: Any) -> str:
    return f"chatcmpl-{upstream_id}" if isinstance(upstream_id, str) and upstream_id else "chatcmpl"


def anthropic_to_openai_response(
    resp: dict[str, Any], model: str, created: int | None = None, json_tool: str | None = None
) -> tuple[dict[str, Any], Usage]:
    """An Anthropic message -> (a chat completion, its usage).

    Text blocks are concatenated into ``content`` (``null`` when the message
    is only tool calls), ``thinking`` into ``reasoning_content``, ``tool_use``
    into ``tool_calls``; redacted thinking and server-tool blocks are dropped.
    A call of ``json_tool`` (see :func:`json_object_tool`) is the answer
    itself: its input becomes the content. ``created`` defaults to now.
    """
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    content = resp.get("content")
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thoughts.append(block["thinking"])
        elif kind == "tool_use" and json_tool is not None and block.get("name") == json_tool:
            texts.append(orjson.dumps(block.get("input") or {}).decode())
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id") or "",
                    "type": "function",
                    "function": {
                        "name": block.get("name") or "",
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    text = "".join(texts)
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if calls:
        message["tool_calls"] = calls
    stop_reason = resp.get("stop_reason")
    finish_reason = (
        FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"
    )
    if finish_reason == "tool_calls" and not calls and json_tool is not None:
        finish_reason = "stop"  # the forced json_object call ended the answer
    raw_usage = resp.get("usage")
    usage = usage_from_anthropic(raw_usage) if isinstance(raw_usage, dict) else Usage()
    upstream_model = resp.get("model")
    out = {
        "id": completion_id(resp.get("id")),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": upstream_model if isinstance(upstream_model, str) and upstream_model else model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": openai_usage(usage),
    }
    return out, usage
