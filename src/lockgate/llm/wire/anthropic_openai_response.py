"""An OpenAI-compatible upstream's answer, whole or streamed, for an Anthropic client.

Response: a chat completion -> an Anthropic message. Stream: Chat Completions
chunks -> the Anthropic event sequence, incrementally. The request side is
:mod:`lockgate.llm.wire.anthropic_openai`, which re-exports both.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from lockgate.llm.sse import encode_event
from lockgate.llm.usage import Usage, estimate_tokens
from lockgate.llm.wire.anthropic import anthropic_error_body
from lockgate.llm.wire.errors import anthropic_error_type_for_error_object
from lockgate.llm.wire.openai import arguments_input, usage_from_openai

__all__ = ["OpenAIToAnthropicStream", "openai_to_anthropic_response"]

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


# -------------------------------------------------------------------- response


def _encode(events: list[dict[str, Any]]) -> bytes:
    return b"".join([encode_event(e["type"], e) for e in events])


def _stop_reason(
    finish_reason: Any, choice: dict[str, Any], has_tools: bool, stop_sequences: list[str] | None
) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence) for a choice.

    OpenAI does not say which stop sequence matched; vLLM (``stop_reason``)
    and SGLang (``matched_stop``) do, and that is used when it is one of the
    request's sequences.
    """
    reason = (
        _STOP_REASONS.get(finish_reason, "end_turn")
        if isinstance(finish_reason, str)
        else "end_turn"
    )
    if reason == "tool_use" and not has_tools:
        # vLLM and others say tool_calls with no call (e.g. under tool_choice
        # "required"); tool_use with no tool_use block stalls Claude Code's loop.
        return "end_turn", None
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


def _unique_id(call_id: Any, used: set[str]) -> str:
    """The call's id, or a fresh one when it has none or repeats one of this
    answer (some servers give parallel calls one id; Anthropic refuses that)."""
    if not isinstance(call_id, str) or not call_id or call_id in used:
        call_id = f"toolu_{uuid.uuid4().hex[:24]}"
    used.add(call_id)
    return call_id


def _reasoning_of(holder: dict[str, Any]) -> str | None:
    """DeepSeek, Qwen and vLLM (older) say ``reasoning_content``; vLLM and OpenRouter ``reasoning``."""
    value = holder.get("reasoning_content")
    if isinstance(value, str) and value:
        return value
    value = holder.get("reasoning")
    return value if isinstance(value, str) and value else None


def openai_to_anthropic_response(
    resp: dict[str, Any],
    model: str,
    stop_sequences: list[str] | None = None,
    tool_names: dict[str, str] | None = None,
) -> tuple[dict[str, Any], Usage]:
    """A chat completion -> (an Anthropic Messages response, its usage).

    Content blocks come in Anthropic's order: thinking (from
    ``reasoning_content``; its signature is empty as there is none to give),
    text, then one ``tool_use`` per tool call. A ``refusal`` becomes text with
    stop reason ``refusal``. Finish reasons map as in SPEC 4; a response with
    tool calls always stops with ``tool_use`` (some providers say ``stop``), one
    without stops with ``end_turn`` whatever the finish reason. ``tool_names``
    maps names shortened for the upstream back to the client's.
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
    if isinstance(text, list):  # some providers answer with content parts
        text = "".join(
            part["text"]
            for part in text
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = message.get("tool_calls")
    has_tools = False
    used: set[str] = set()
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            call_id = call.get("id")
            name = function.get("name")
            if tool_names and name in tool_names:
                name = tool_names[name]
            content.append(
                {
                    "type": "tool_use",
                    "id": _unique_id(call_id, used),
                    "name": name if isinstance(name, str) else "",
                    "input": arguments_input(function.get("arguments")),
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

    __slots__ = ("checked", "closed", "fragments", "id", "name", "sent")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.fragments: list[str] = []
        self.sent = 0  # fragments already streamed to the client
        self.checked = -1  # fragment count when the arguments were last found incomplete
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
        "_ids",
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
        "_tool_names",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(
        self,
        model: str,
        input_tokens_estimate: int = 0,
        stop_sequences: list[str] | None = None,
        tool_names: dict[str, str] | None = None,
    ) -> None:
        self.usage = Usage(prompt_tokens=input_tokens_estimate, estimated=True)
        self.response_model: str | None = None
        self.completed = False
        self._model = model
        self._input_estimate = input_tokens_estimate
        self._stop_sequences = stop_sequences
        self._tool_names = tool_names or {}
        self._ids: set[str] = set()
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
        return _encode(self.events(data))

    def finish(self) -> bytes:
        return _encode(self.finish_events())

    def fail(self, error_type: str, message: str) -> bytes:
        return _encode(self.fail_events(error_type, message))

    # -- the same as Anthropic event dicts (for encoders of other client formats)

    def events(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        if self._done:
            return []
        out: list[dict[str, Any]] = []
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
        # Content after the finish reason is ignored; only the first choice is translated.
        if isinstance(choices, list) and choices and self._finish_reason is None:
            choice = choices[0]
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    self._delta(delta, out)
                finish_reason = choice.get("finish_reason")
                if finish_reason == "error":
                    return self._error_from({"message": "upstream reported an error"}, out)
                if isinstance(finish_reason, str) and finish_reason:
                    self._finish(finish_reason, choice, out)
        if self._finish_reason is not None and self._reported:
            self._end(out)
        return out

    def finish_events(self) -> list[dict[str, Any]]:
        if self._done:
            return []
        out: list[dict[str, Any]] = []
        if self._finish_reason is not None:
            self._estimate()
            self._end(out)
            return out
        self._estimate()
        self._done = True
        message = "the upstream stream ended prematurely (no finish reason)"
        return [anthropic_error_body("api_error", message)]

    def fail_events(self, error_type: str, message: str) -> list[dict[str, Any]]:
        if self._done:
            return []
        self._estimate()
        self._done = True
        return [anthropic_error_body(error_type, message)]

    # -- internals

    def _start(self, data: dict[str, Any], out: list[dict[str, Any]]) -> None:
        self._started = True
        model = data.get("model")
        if isinstance(model, str) and model:
            self.response_model = model
        message: dict[str, Any] = {
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
        out.append({"type": "message_start", "message": message})

    def _error_from(self, error: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if isinstance(error, dict):
            message = error.get("message")
            error_type = anthropic_error_type_for_error_object(error)
        else:
            message, error_type = error, "api_error"
        if not isinstance(message, str) or not message:
            message = "the upstream reported an error mid-stream"
        self._estimate()
        self._done = True
        out.append(anthropic_error_body(error_type, message))
        return out

    def _delta(self, delta: dict[str, Any], out: list[dict[str, Any]]) -> None:
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

    def _text(self, text: str, out: list[dict[str, Any]]) -> None:
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
        if isinstance(key, int):
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

    def _tool_delta(self, entry: dict[str, Any], out: list[dict[str, Any]]) -> None:
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

    def _start_call(self, call: _ToolCall, out: list[dict[str, Any]]) -> None:
        call.id = _unique_id(call.id, self._ids)
        name = self._tool_names.get(call.name, call.name)
        self._open_block({"type": "tool_use", "id": call.id, "name": name, "input": {}}, out, call)
        self._tool_blocks += 1
        self._send_fragments(call, out)

    def _send_fragments(self, call: _ToolCall, out: list[dict[str, Any]]) -> None:
        if call.sent < len(call.fragments):
            partial = "".join(call.fragments[call.sent :])
            call.sent = len(call.fragments)
            self._block_delta({"type": "input_json_delta", "partial_json": partial}, out)

    def _open_block(
        self, block: dict[str, Any], out: list[dict[str, Any]], call: _ToolCall | None = None
    ) -> None:
        self._close_block(out)
        self._open = block["type"]
        self._open_call = call
        out.append(
            {"type": "content_block_start", "index": self._next_index, "content_block": block}
        )

    def _block_delta(self, delta: dict[str, Any], out: list[dict[str, Any]]) -> None:
        out.append({"type": "content_block_delta", "index": self._next_index, "delta": delta})

    def _close_block(self, out: list[dict[str, Any]]) -> None:
        if self._open is None:
            return
        if self._open == "thinking":
            self._block_delta({"type": "signature_delta", "signature": ""}, out)
        elif self._open_call is not None:
            self._open_call.closed = True
            self._open_call = None
        out.append({"type": "content_block_stop", "index": self._next_index})
        self._open = None
        self._next_index += 1

    def _finish(
        self, finish_reason: str, choice: dict[str, Any], out: list[dict[str, Any]]
    ) -> None:
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

    def _end(self, out: list[dict[str, Any]]) -> None:
        self._done = True
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self._finish_reason, "stop_sequence": self._stop_sequence},
            "usage": _anthropic_usage(self.usage),
        }
        out.append(delta)
        out.append({"type": "message_stop"})
