"""An Anthropic Messages client in front of an OpenAI-compatible upstream.

Request: Anthropic Messages body -> Chat Completions body. Response: a chat
completion -> an Anthropic message. Stream: Chat Completions chunks -> the
Anthropic event sequence, incrementally.

Constructs with no OpenAI meaning are dropped, never rejected (SPEC 7: a
request Claude Code can send never fails because of a translation limit):
``cache_control``, ``output_config``, ``context_management``, ``top_k``,
prior ``thinking``/``redacted_thinking`` blocks, server tools (web search,
code execution: the upstream cannot run them) and their result blocks, and
every unknown field. Which models take ``reasoning_effort`` and the
``max_tokens`` -> ``max_completion_tokens`` rename are the provider layer's
business, not this module's.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson

from lockgate.llm.sse import encode_event
from lockgate.llm.usage import Usage, estimate_tokens
from lockgate.llm.wire.anthropic import anthropic_error_body
from lockgate.llm.wire.errors import anthropic_error_type_for_error_object
from lockgate.llm.wire.openai import usage_from_openai

__all__ = [
    "OpenAIToAnthropicStream",
    "anthropic_to_openai_request",
    "openai_to_anthropic_response",
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
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
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
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data') or ''}"
    elif kind == "url":
        url = source.get("url") or ""
    else:
        # Files API references cannot be resolved by another provider.
        return {"type": "text", "text": f"[image omitted: {kind or 'unknown'} source not available]"}
    return {"type": "image_url", "image_url": {"url": url}}


def _document_parts(block: dict[str, Any]) -> list[dict[str, Any]]:
    """An Anthropic ``document`` block -> text parts, or a ``file`` part for base64 PDFs."""
    source = block.get("source") or {}
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
    return [{"type": "text", "text": f"[document omitted: {kind or 'unknown'} source not available]"}]


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
            text = f"The tool returned {len(images)} image(s); they follow in the next user message."
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
                call_id = block.get("id") or f"toolu_{len(self.messages)}_{len(calls)}"
                arguments = orjson.dumps(block.get("input") or {}).decode()
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": block.get("name") or "", "arguments": arguments},
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
        function: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            function["description"] = tool["description"]
        function["parameters"] = (
            schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
        )
        out.append({"type": "function", "function": function})
    return out


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


def anthropic_to_openai_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages request -> a Chat Completions request for ``model``.

    The system prompt becomes one system message (text blocks joined by a
    blank line, never truncated); system entries inside ``messages`` stay
    system messages at their place. User blocks become content parts (a plain
    string stays a string); assistant text is joined into one string and
    ``tool_use`` becomes ``tool_calls`` (``content: null`` when there is no
    text). Each ``tool_result`` becomes a ``tool`` message, before the turn's
    other content; ``is_error`` prefixes ``Error: ``.
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
                out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
            if choice.get("disable_parallel_tool_use") is True:
                out["parallel_tool_calls"] = False

    effort = _reasoning_effort(body)
    if effort is not None:
        out["reasoning_effort"] = effort
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id:
        if len(user_id) > MAX_USER_CHARS:
            user_id = hashlib.sha256(user_id.encode()).hexdigest()
        out["user"] = user_id
    return out


# -------------------------------------------------------------------- response


def _arguments_to_input(arguments: Any) -> dict[str, Any]:
    """Tool-call ``arguments`` (a JSON string) -> a ``tool_use`` ``input`` object.

    Models sometimes emit broken JSON; that must not fail the response. An
    empty string is ``{}``; anything that is not a JSON object is kept as
    ``{"_raw": "<the arguments>"}`` so the client's tool reports a clear error
    and the model can retry.
    """
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def _stop_reason(
    finish_reason: Any, choice: dict[str, Any], has_tools: bool, stop_sequences: list[str] | None
) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence) for a choice.

    OpenAI does not say which stop sequence matched; vLLM (``stop_reason``)
    and SGLang (``matched_stop``) do, and that is used when it is one of the
    request's sequences.
    """
    reason = _STOP_REASONS.get(finish_reason, "end_turn") if finish_reason else "end_turn"
    if reason == "end_turn":
        if has_tools:
            return "tool_use", None
        if stop_sequences:
            for key in ("stop_reason", "matched_stop"):
                matched = choice.get(key)
                if isinstance(matched, str) and matched in stop_sequences:
                    return "stop_sequence", matched
    return reason, None


def _anthropic_usage(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.prompt_tokens - usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def _message_id(upstream_id: Any) -> str:
    if isinstance(upstream_id, str) and upstream_id:
        return upstream_id if upstream_id.startswith("msg_") else "msg_" + upstream_id
    return "msg_" + uuid.uuid4().hex


def _reasoning_of(holder: dict[str, Any]) -> str | None:
    """DeepSeek, Qwen and vLLM (older) say ``reasoning_content``; vLLM and OpenRouter ``reasoning``."""
    value = holder.get("reasoning_content")
    if isinstance(value, str) and value:
        return value
    value = holder.get("reasoning")
    return value if isinstance(value, str) and value else None


def openai_to_anthropic_response(
    resp: dict[str, Any], model: str, stop_sequences: list[str] | None = None
) -> tuple[dict[str, Any], Usage]:
    """A chat completion -> (an Anthropic Messages response, its usage).

    Content blocks come in Anthropic's order: thinking (from
    ``reasoning_content``; its signature is empty as there is none to give),
    text, then one ``tool_use`` per tool call. A ``refusal`` becomes text with
    stop reason ``refusal``. Finish reasons map as in SPEC 4; a response with
    tool calls always stops with ``tool_use`` (some providers say ``stop``).
    """
    choices = resp.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    if not isinstance(choice, dict):
        choice = {}
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    content: list[dict[str, Any]] = []
    reasoning = _reasoning_of(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, list):
        text = _block_text(text, "")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = message.get("tool_calls")
    has_tools = False
    if isinstance(calls, list):
        for n, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            function = call.get("function") or {}
            content.append(
                {
                    "type": "tool_use",
                    "id": call.get("id") or f"toolu_{n}_{uuid.uuid4().hex[:16]}",
                    "name": function.get("name") or "",
                    "input": _arguments_to_input(function.get("arguments")),
                }
            )
            has_tools = True
    stop_reason, stop_sequence = _stop_reason(
        choice.get("finish_reason"), choice, has_tools, stop_sequences
    )
    if isinstance(refusal, str) and refusal and not has_tools:
        stop_reason = "refusal"
    raw_usage = resp.get("usage")
    usage = usage_from_openai(raw_usage) if isinstance(raw_usage, dict) else Usage()
    upstream_model = resp.get("model")
    out = {
        "id": _message_id(resp.get("id")),
        "type": "message",
        "role": "assistant",
        "model": upstream_model if isinstance(upstream_model, str) and upstream_model else model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": _anthropic_usage(usage),
    }
    return out, usage


# ---------------------------------------------------------------------- stream


class _ToolCall:
    """One streamed tool call: its identity and the argument fragments seen so far."""

    __slots__ = ("block", "checked", "closed", "fragments", "id", "name", "sent")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.fragments: list[str] = []
        self.sent = 0  # fragments already streamed to the client
        self.checked = -1  # fragment count when the arguments were last found incomplete
        self.block: int | None = None
        self.closed = False

    def arguments_complete(self) -> bool:
        """Whether the arguments so far form a JSON object (checked only on a switch)."""
        count = len(self.fragments)
        if count == self.checked:
            return False
        try:
            complete = isinstance(orjson.loads("".join(self.fragments)), dict)
        except orjson.JSONDecodeError:
            complete = False
        if not complete:
            self.checked = count
        return complete


class OpenAIToAnthropicStream:
    """Chat Completions chunks -> Anthropic stream events, one chunk at a time.

    ``message_start`` goes out on the first chunk, with the caller's estimate
    of input tokens (OpenAI reports usage only at the end). Reasoning deltas
    become a ``thinking`` block (closed with an empty ``signature_delta``),
    content a ``text`` block, each tool call a ``tool_use`` block whose
    argument fragments stream as ``input_json_delta``. Starting a block closes
    the open one, so indices run from 0 and no block is started twice.

    Tool calls interleaved by ``index`` (some providers do this): a block
    cannot be reopened, so while one call's block is open, fragments of
    another call are buffered. The open call is closed for the other one
    when its arguments parse as a complete JSON object (checked only when
    another call speaks); otherwise the buffered calls go out, each as a whole
    block, when the finish reason arrives. Fragments for a call whose block was
    already closed are dropped (in practice only whitespace after a complete
    object).

    The end: the finish reason closes the blocks; ``message_delta`` and
    ``message_stop`` follow with the usage chunk (``choices: []``), or at
    :meth:`finish` with estimated output tokens (characters / 4) when the
    upstream never reports usage. A stream that ends without a finish reason,
    or carries an ``error`` object, ends with an ``error`` event.
    """

    __slots__ = (
        "_calls",
        "_calls_by_id",
        "_chars",
        "_done",
        "_finish_reason",
        "_input_estimate",
        "_last_call",
        "_model",
        "_next_index",
        "_open",
        "_open_call",
        "_refused",
        "_reported",
        "_started",
        "_stop_sequence",
        "_stop_sequences",
        "_tool_blocks",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(
        self, model: str, input_tokens_estimate: int = 0, stop_sequences: list[str] | None = None
    ) -> None:
        self.usage = Usage(prompt_tokens=input_tokens_estimate, estimated=True)
        self.response_model: str | None = None
        self.completed = False
        self._model = model
        self._input_estimate = input_tokens_estimate
        self._stop_sequences = stop_sequences
        self._started = False
        self._done = False
        self._next_index = 0
        self._open: str | None = None  # kind of the open block: thinking, text, tool_use
        self._open_call: _ToolCall | None = None
        self._calls: dict[Any, _ToolCall] = {}
        self._calls_by_id: dict[str, _ToolCall] = {}
        self._last_call: _ToolCall | None = None
        self._tool_blocks = 0
        self._chars = 0
        self._finish_reason: str | None = None
        self._stop_sequence: str | None = None
        self._refused = False
        self._reported = False

    # -- public

    def feed(self, data: dict[str, Any]) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        error = data.get("error")
        if error is not None:
            return self._error_from(error, out)
        if not self._started:
            self._start(data, out)
        usage = data.get("usage")
        if isinstance(usage, dict):
            reported = usage_from_openai(usage)
            if reported.reported:
                self.usage = reported
                self._reported = True
        choices = data.get("choices")
        if choices and self._finish_reason is None:  # content after the finish reason is ignored
            choice = choices[0]
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    self._delta(delta, out)
                finish_reason = choice.get("finish_reason")
                if finish_reason == "error":
                    return self._error_from({"message": "upstream reported an error"}, out)
                if finish_reason:
                    self._finish(finish_reason, choice, out)
        if self._finish_reason is not None and self._reported:
            self._end(out)
        return b"".join(out)

    def finish(self) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        if self._finish_reason is not None:
            self._estimate()
            self._end(out)
            return b"".join(out)
        self._estimate()
        self._done = True
        message = "the upstream stream ended prematurely (no finish reason)"
        return encode_event("error", anthropic_error_body("api_error", message))

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        self._estimate()
        self._done = True
        return encode_event("error", anthropic_error_body(error_type, message))

    # -- internals

    def _start(self, data: dict[str, Any], out: list[bytes]) -> None:
        self._started = True
        model = data.get("model")
        if isinstance(model, str) and model:
            self.response_model = model
        message = {
            "id": _message_id(data.get("id")),
            "type": "message",
            "role": "assistant",
            "model": self.response_model or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self._input_estimate,
                "output_tokens": 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        out.append(encode_event("message_start", {"type": "message_start", "message": message}))

    def _error_from(self, error: Any, out: list[bytes]) -> bytes:
        if isinstance(error, dict):
            message = error.get("message")
            error_type = anthropic_error_type_for_error_object(error)
        else:
            message, error_type = error, "api_error"
        if not isinstance(message, str) or not message:
            message = "the upstream reported an error mid-stream"
        self._estimate()
        self._done = True
        out.append(encode_event("error", anthropic_error_body(error_type, message)))
        return b"".join(out)

    def _delta(self, delta: dict[str, Any], out: list[bytes]) -> None:
        reasoning = _reasoning_of(delta)
        if reasoning:
            self._chars += len(reasoning)
            if self._open != "thinking":
                self._open_block({"type": "thinking", "thinking": "", "signature": ""}, out)
            self._block_delta({"type": "thinking_delta", "thinking": reasoning}, out)
        text = delta.get("content")
        if isinstance(text, str) and text:
            self._text(text, out)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._refused = True
            self._text(refusal, out)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for entry in calls:
                if isinstance(entry, dict):
                    self._tool_delta(entry, out)

    def _text(self, text: str, out: list[bytes]) -> None:
        self._chars += len(text)
        if self._open != "text":
            self._open_block({"type": "text", "text": ""}, out)
        self._block_delta({"type": "text_delta", "text": text}, out)

    def _call_for(self, entry: dict[str, Any]) -> _ToolCall:
        """The call a tool-call delta belongs to: by ``index``; by ``id`` or the last call without one."""
        call_id = entry.get("id")
        function = entry.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        key = entry.get("index")
        call: _ToolCall | None
        if key is not None:
            call = self._calls.get(key)
        elif isinstance(call_id, str) and call_id:
            call = self._calls_by_id.get(call_id)
            key = ("id", call_id)
        else:
            call = self._last_call
            key = ("n", len(self._calls))
        if call is None:
            new_id = call_id if isinstance(call_id, str) and call_id else ""
            call = _ToolCall(new_id, name if isinstance(name, str) else "")
            self._calls[key] = call
            if new_id:
                self._calls_by_id[new_id] = call
        else:
            # id and name normally come once, in the first delta; fill them if they come late.
            if not call.id and isinstance(call_id, str) and call_id:
                call.id = call_id
                self._calls_by_id[call_id] = call
            if not call.name and isinstance(name, str):
                call.name = name
        self._last_call = call
        return call

    def _tool_delta(self, entry: dict[str, Any], out: list[bytes]) -> None:
        call = self._call_for(entry)
        function = entry.get("function")
        fragment = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(fragment, str) and fragment:
            call.fragments.append(fragment)
            self._chars += len(fragment)
        if call.closed:
            return
        current = self._open_call
        if current is call:
            self._send_fragments(call, out)
        elif call.name and (current is None or current.arguments_complete()):
            self._start_call(call, out)

    def _start_call(self, call: _ToolCall, out: list[bytes]) -> None:
        if not call.id:
            call.id = f"toolu_{uuid.uuid4().hex[:24]}"
        self._open_block(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}, out, call
        )
        self._tool_blocks += 1
        self._send_fragments(call, out)

    def _send_fragments(self, call: _ToolCall, out: list[bytes]) -> None:
        if call.sent < len(call.fragments):
            partial = "".join(call.fragments[call.sent :])
            call.sent = len(call.fragments)
            self._block_delta({"type": "input_json_delta", "partial_json": partial}, out)

    def _open_block(
        self, block: dict[str, Any], out: list[bytes], call: _ToolCall | None = None
    ) -> None:
        self._close_block(out)
        self._open = block["type"]
        self._open_call = call
        out.append(
            encode_event(
                "content_block_start",
                {"type": "content_block_start", "index": self._next_index, "content_block": block},
            )
        )

    def _block_delta(self, delta: dict[str, Any], out: list[bytes]) -> None:
        out.append(
            encode_event(
                "content_block_delta",
                {"type": "content_block_delta", "index": self._next_index, "delta": delta},
            )
        )

    def _close_block(self, out: list[bytes]) -> None:
        if self._open is None:
            return
        if self._open == "thinking":
            self._block_delta({"type": "signature_delta", "signature": ""}, out)
        elif self._open_call is not None:
            self._open_call.closed = True
            self._open_call = None
        out.append(
            encode_event(
                "content_block_stop", {"type": "content_block_stop", "index": self._next_index}
            )
        )
        self._open = None
        self._next_index += 1

    def _finish(self, finish_reason: str, choice: dict[str, Any], out: list[bytes]) -> None:
        """The finish reason: close the open block and flush calls still buffered."""
        self.completed = True
        self._close_block(out)
        for call in self._calls.values():
            if not call.closed:
                self._start_call(call, out)
                self._close_block(out)
        reason, self._stop_sequence = _stop_reason(
            finish_reason, choice, self._tool_blocks > 0, self._stop_sequences
        )
        if self._refused and reason == "end_turn":
            reason = "refusal"
        self._finish_reason = reason

    def _estimate(self) -> None:
        if self._reported:
            return
        self.usage = Usage(
            prompt_tokens=self._input_estimate,
            completion_tokens=estimate_tokens(self._chars) if self._chars else 0,
            estimated=True,
        )

    def _end(self, out: list[bytes]) -> None:
        self._done = True
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self._finish_reason, "stop_sequence": self._stop_sequence},
            "usage": _anthropic_usage(self.usage),
        }
        out.append(encode_event("message_delta", delta))
        out.append(encode_event("message_stop", {"type": "message_stop"}))
