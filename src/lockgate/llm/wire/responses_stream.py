"""Anthropic stream events (the conversation model's, docs/translation.md)
-> the Responses API's SSE events, one event at a time.

``message_start`` gives ``response.created`` and ``response.in_progress``.
Each content block opens an output item (``response.output_item.added``);
text blocks in a row share one ``message`` item, each a content part
(``content_part.added``, ``output_text.delta``/``.done``,
``content_part.done``); thinking a ``reasoning`` item with one summary part;
``tool_use`` a ``function_call`` whose input fragments stream as
``function_call_arguments.delta``, or a custom / local-shell call whose input
is sent whole when the block stops (the model wrote it as a JSON object; the
client wants the raw string). ``message_stop`` closes the open item and
sends ``response.completed`` (``response.incomplete`` for a cut-off answer)
with the output and usage. An upstream ``error``, a stream that ends early,
or :meth:`fail` end it with ``response.failed``. Every event carries its
``sequence_number``.

:class:`AnthropicEventsToResponses` is fed event dicts; the upstream-specific
translators in ``conversions`` feed it from their own decoders.
"""

from __future__ import annotations

from typing import Any

import orjson

from lockgate.llm.usage import Usage
from lockgate.llm.wire.anthropic import AnthropicStreamObserver
from lockgate.llm.wire.responses import responses_usage
from lockgate.llm.wire.responses_response import (
    FAILURE_CODES,
    ResponseShape,
    reasoning_item,
    response_status,
)

__all__ = ["AnthropicEventsToResponses"]

#: The SSE head of the stream's most frequent event (what encode_event writes).
_TEXT_DELTA = b"event: response.output_text.delta\ndata: "
#: Output items made from a ``tool_use`` block.
_CALL_KINDS = frozenset(("function_call", "custom_tool_call", "local_shell_call"))


#: ``encode_event``'s head of each event kind this module sends.
_HEADS = {
    kind: b"event: " + kind.encode() + b"\ndata: "
    for kind in (
        "response.completed",
        "response.content_part.added",
        "response.content_part.done",
        "response.created",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.failed",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.in_progress",
        "response.incomplete",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
    )
}


#: Each kind's name, encoded.
_KINDS = {kind: kind.encode() for kind in _HEADS}


def _index(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


class _Block:
    """One open content block: the output item it feeds and what it gathered."""

    __slots__ = (
        "block",
        "content_index",
        "head",
        "item",
        "kind",
        "output_index",
        "parts",
        "where",
    )

    def __init__(self, kind: str, block: dict[str, Any], item: dict[str, Any], output_index: int):
        self.kind = kind
        self.block = block
        self.item = item
        self.output_index = output_index
        self.content_index = 0
        self.parts: list[str] = []
        #: A text delta event of this block up to its text, encoded once.
        self.head = b""
        #: A text part's events' opening: ``{"item_id":...,"output_index":N,"content_index":M``.
        self.where = b""

    def text_where(self) -> bytes:
        """The opening every event of a text part shares, encoded once (the
        same bytes as orjson writes for those keys: in order, compactly)."""
        self.where = (
            b'{"item_id":'
            + orjson.dumps(self.item["id"])
            + b',"output_index":'
            + str(self.output_index).encode()
            + b',"content_index":'
            + str(self.content_index).encode()
        )
        return self.where

    def text_delta_head(self) -> bytes:
        """``encode_event`` of a text delta, up to the value of ``delta``."""
        self.head = (
            _TEXT_DELTA
            + b'{"type":"response.output_text.delta",'
            + (self.where or self.text_where())[1:]
            + b',"delta":'
        )
        return self.head


class AnthropicEventsToResponses:
    """A :class:`lockgate.llm.wire.StreamTranslator` fed Anthropic event dicts."""

    __slots__ = (
        "_blocks",
        "_chars",
        "_done",
        "_message",
        "_observer",
        "_output",
        "_seq",
        "_shape",
        "_started",
        "_stop_reason",
        "completed",
        "response_model",
        "usage",
    )

    def __init__(
        self,
        model: str,
        body: dict[str, Any],
        input_tokens_estimate: int = 0,
        created_at: int | None = None,
        response_id: str | None = None,
    ) -> None:
        self._shape = ResponseShape(body, model, created_at, True, response_id)
        self._observer = AnthropicStreamObserver(input_tokens_estimate)
        self.usage: Usage = self._observer.usage
        #: Characters of the text deltas read here (the observer counts the others).
        self._chars = 0
        self.response_model: str | None = None
        self.completed = False
        self._seq = 0
        self._started = False
        self._done = False
        #: The response's output items (a finished message item as its encoded JSON).
        self._output: list[dict[str, Any] | orjson.Fragment] = []
        self._blocks: dict[int, _Block] = {}
        #: The open message item (text blocks in a row share it).
        self._message: _Block | None = None
        self._stop_reason: Any = None

    # -- encoding

    def _emit(self, out: list[bytes], kind: str, data: dict[str, Any]) -> None:
        data["type"] = kind
        data["sequence_number"] = self._seq
        self._seq += 1
        out.append(_HEADS[kind] + orjson.dumps(data) + b"\n\n")

    def _emit_response(self, out: list[bytes], kind: str, response: bytes) -> None:
        """``_emit(out, kind, {"response": ...})`` of an encoded response object."""
        seq = self._seq
        self._seq = seq + 1
        out.append(
            b"".join(
                (
                    _HEADS[kind],
                    b'{"response":',
                    response,
                    b',"type":"',
                    _KINDS[kind],
                    b'","sequence_number":',
                    str(seq).encode(),
                    b"}\n\n",
                )
            )
        )

    # -- public

    def feed(self, data: dict[str, Any]) -> bytes:
        if self._done or not isinstance(data, dict):
            return b""
        kind = data.get("type")
        if kind == "content_block_delta":
            # The hot path (most events): a text delta, encoded with no detour.
            delta = data.get("delta")
            index = data.get("index")
            current = self._blocks.get(index) if type(index) is int else None
            if current is None or not isinstance(delta, dict):
                return b""
            if delta.get("type") == "text_delta" and current.kind == "text":
                text = delta.get("text")
                if not isinstance(text, str) or not text:
                    return b""
                self._chars += len(text)
                current.parts.append(text)
                seq = self._seq
                self._seq = seq + 1
                return b"".join(
                    (
                        current.head or current.text_delta_head(),
                        orjson.dumps(text),
                        b',"logprobs":[],"sequence_number":',
                        str(seq).encode(),
                        b"}\n\n",
                    )
                )
            self._observer.feed(data)
            out: list[bytes] = []
            self._delta(current, delta, out)
            return b"".join(out)
        out = []
        if kind == "content_block_start":  # nothing in it for the observer
            if not self._started:
                self._start_once(out)
            self._block_start(data, out)
            return b"".join(out)
        if kind == "content_block_stop":
            self._block_stop(_index(data.get("index")), out)
            return b"".join(out)
        if kind == "ping":
            return b""
        self._observer.feed(data)
        self.usage = self._observer.usage
        if kind == "message_start":
            message = data.get("message")
            model = message.get("model") if isinstance(message, dict) else None
            if isinstance(model, str) and model:
                self._shape.model = self.response_model = model
            self._start_once(out)
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") is not None:
                self._stop_reason = delta["stop_reason"]
        elif kind == "message_stop":
            self._end(out)
        elif kind == "error":
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            self._failed(str(error.get("type") or "api_error"), error.get("message"), out)
        return b"".join(out)

    def finish(self) -> bytes:
        if self._done:
            return b""
        return self.fail("api_error", "the upstream stream ended prematurely")

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        self._failed(error_type, message, out)
        return b"".join(out)

    # -- internals

    def _start_once(self, out: list[bytes]) -> None:
        if self._started:
            return
        self._started = True
        # The same response object twice, written in one piece.
        response = self._shape.response_bytes("in_progress", [])
        seq = self._seq
        self._seq = seq + 2
        out.append(
            b"".join(
                (
                    _HEADS["response.created"],
                    b'{"response":',
                    response,
                    b',"type":"response.created","sequence_number":',
                    str(seq).encode(),
                    b"}\n\n",
                    _HEADS["response.in_progress"],
                    b'{"response":',
                    response,
                    b',"type":"response.in_progress","sequence_number":',
                    str(seq + 1).encode(),
                    b"}\n\n",
                )
            )
        )

    def _add_item(self, item: dict[str, Any], out: list[bytes]) -> int:
        index = len(self._output)
        self._output.append(item)
        self._emit(out, "response.output_item.added", {"output_index": index, "item": item})
        return index

    def _item_done(self, item: dict[str, Any], index: int, out: list[bytes]) -> None:
        item["status"] = "completed"
        self._emit(out, "response.output_item.done", {"output_index": index, "item": item})

    def _close_message(self, out: list[bytes], status: str = "completed") -> None:
        message = self._message
        if message is None:
            return
        self._message = None
        message.item["status"] = status
        # Final now: encoded once, for this event and for the response's output.
        encoded = orjson.dumps(message.item)
        self._output[message.output_index] = orjson.Fragment(encoded)
        seq = self._seq
        self._seq = seq + 1
        out.append(
            b"".join(
                (
                    _HEADS["response.output_item.done"],
                    b'{"output_index":',
                    str(message.output_index).encode(),
                    b',"item":',
                    encoded,
                    b',"type":"response.output_item.done","sequence_number":',
                    str(seq).encode(),
                    b"}\n\n",
                )
            )
        )

    def _block_start(self, data: dict[str, Any], out: list[bytes]) -> None:
        block = data.get("content_block")
        if not isinstance(block, dict):
            return
        kind = block.get("type")
        key = _index(data.get("index"))
        shape = self._shape
        item: dict[str, Any]
        # Anthropic streams one block at a time: a start closes what is open
        # (so a repeated index or an interleaving upstream cannot leave an item unfinished).
        if self._blocks:
            for open_key in list(self._blocks):
                self._block_stop(open_key, out)
        if kind == "text":
            # The usual answer's path, its events written from encoded pieces.
            message = self._message
            seq = self._seq
            if message is None:
                item = {
                    "type": "message",
                    "id": shape.item_id("msg"),
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                }
                index = len(self._output)
                self._output.append(item)
                message = self._message = _Block("message", block, item, index)
                out.append(
                    b"".join(
                        (
                            _HEADS["response.output_item.added"],
                            b'{"output_index":',
                            str(index).encode(),
                            b',"item":',
                            orjson.dumps(item),
                            b',"type":"response.output_item.added","sequence_number":',
                            str(seq).encode(),
                            b"}\n\n",
                        )
                    )
                )
                seq += 1
            current = _Block("text", block, message.item, message.output_index)
            current.content_index = len(message.item["content"])
            out.append(
                b"".join(
                    (
                        _HEADS["response.content_part.added"],
                        current.text_where(),
                        b',"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}'
                        b',"type":"response.content_part.added","sequence_number":',
                        str(seq).encode(),
                        b"}\n\n",
                    )
                )
            )
            self._seq = seq + 1
            initial = block.get("text")
            if isinstance(initial, str) and initial:
                self._text(current, initial, out)
            self._blocks[key] = current
            return
        if kind not in ("thinking", "redacted_thinking", "tool_use"):
            return  # server tools and their results have no Responses form here
        self._close_message(out)
        if kind == "tool_use":
            name = block.get("name")
            block_id = block.get("id")
            item = shape.call_item(
                shape.call_id(block_id if isinstance(block_id, str) else ""),
                name if isinstance(name, str) else "",
                "",
                "in_progress",
            )
            current = _Block(str(item["type"]), block, item, self._add_item(item, out))
            initial = block.get("input")
            if isinstance(initial, dict) and initial:
                self._arguments(current, orjson.dumps(initial).decode(), out)
        else:
            item = {
                "type": "reasoning",
                "id": shape.item_id("rs"),
                "summary": [],
                "status": "in_progress",
            }
            current = _Block(kind, dict(block), item, self._add_item(item, out))
            initial = block.get("thinking")
            if isinstance(initial, str) and initial:
                self._thinking(current, initial, out)
        self._blocks[key] = current

    def _delta(self, current: _Block, delta: dict[str, Any], out: list[bytes]) -> None:
        kind = delta.get("type")
        if kind == "text_delta" and current.kind == "text":
            text = delta.get("text")
            if isinstance(text, str) and text:
                self._text(current, text, out)
        elif kind == "input_json_delta" and current.kind in _CALL_KINDS:
            partial = delta.get("partial_json")
            if isinstance(partial, str) and partial:
                self._arguments(current, partial, out)
        elif kind == "thinking_delta" and current.kind == "thinking":
            thinking = delta.get("thinking")
            if isinstance(thinking, str) and thinking:
                self._thinking(current, thinking, out)
        elif kind == "signature_delta" and current.kind == "thinking":
            signature = delta.get("signature")
            if isinstance(signature, str) and signature:
                current.block["signature"] = signature

    def _text(self, current: _Block, text: str, out: list[bytes]) -> None:
        current.parts.append(text)
        self._emit(
            out,
            "response.output_text.delta",
            {
                "item_id": current.item["id"],
                "output_index": current.output_index,
                "content_index": current.content_index,
                "delta": text,
                "logprobs": [],
            },
        )

    def _arguments(self, current: _Block, partial: str, out: list[bytes]) -> None:
        current.parts.append(partial)
        if current.kind == "function_call":
            self._emit(
                out,
                "response.function_call_arguments.delta",
                {
                    "item_id": current.item["id"],
                    "output_index": current.output_index,
                    "delta": partial,
                },
            )

    def _thinking(self, current: _Block, text: str, out: list[bytes]) -> None:
        if not current.parts:
            self._emit(
                out,
                "response.reasoning_summary_part.added",
                {
                    "item_id": current.item["id"],
                    "output_index": current.output_index,
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""},
                },
            )
        current.parts.append(text)
        self._emit(
            out,
            "response.reasoning_summary_text.delta",
            {
                "item_id": current.item["id"],
                "output_index": current.output_index,
                "summary_index": 0,
                "delta": text,
            },
        )

    def _block_stop(self, key: int, out: list[bytes]) -> None:
        current = self._blocks.pop(key, None)
        if current is None:
            return
        item = current.item
        index = current.output_index
        kind = current.kind
        if kind == "text":
            text = "".join(current.parts)
            item["content"].append(
                {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            )
            encoded = orjson.dumps(text)
            opening = current.where or current.text_where()
            seq = self._seq
            self._seq = seq + 2
            out.append(
                b"".join(
                    (
                        _HEADS["response.output_text.done"],
                        opening,
                        b',"text":',
                        encoded,
                        b',"logprobs":[],"type":"response.output_text.done","sequence_number":',
                        str(seq).encode(),
                        b"}\n\n",
                        _HEADS["response.content_part.done"],
                        opening,
                        b',"part":{"type":"output_text","text":',
                        encoded,
                        b',"annotations":[],"logprobs":[]}'
                        b',"type":"response.content_part.done","sequence_number":',
                        str(seq + 1).encode(),
                        b"}\n\n",
                    )
                )
            )
            return  # the message item stays open for the next text block
        if kind == "function_call":
            arguments = "".join(current.parts)
            item["arguments"] = arguments
            self._emit(
                out,
                "response.function_call_arguments.done",
                {"item_id": item["id"], "output_index": index, "arguments": arguments},
            )
        elif kind in ("custom_tool_call", "local_shell_call"):
            # The model wrote the input as a JSON object: the item is made
            # again from it whole, under the id the client already has.
            finished = self._shape.call_item(
                item["call_id"],
                current.block.get("name") or "",
                "".join(current.parts),
                "completed",
            )
            finished["id"] = item["id"]
            item.clear()
            item.update(finished)
            if kind == "custom_tool_call":
                where = {"item_id": item["id"], "output_index": index}
                self._emit(
                    out, "response.custom_tool_call_input.delta", {**where, "delta": item["input"]}
                )
                self._emit(
                    out, "response.custom_tool_call_input.done", {**where, "input": item["input"]}
                )
        else:  # thinking, redacted_thinking
            text = "".join(current.parts)
            if current.parts:
                where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
                self._emit(out, "response.reasoning_summary_text.done", {**where, "text": text})
                self._emit(
                    out,
                    "response.reasoning_summary_part.done",
                    {**where, "part": {"type": "summary_text", "text": text}},
                )
            finished = reasoning_item(self._shape, current.block, text)
            finished["id"] = item["id"]
            item.clear()
            item.update(finished)
        self._item_done(item, index, out)

    def _end(self, out: list[bytes]) -> None:
        if not self._started:
            self._start_once(out)
        status, incomplete = response_status(self._stop_reason)
        if self._blocks:  # an upstream that never closed its last block
            for key in list(self._blocks):
                self._block_stop(key, out)
        self._close_message(out, "incomplete" if incomplete else "completed")
        self._done = True
        self.completed = True
        self._observer.count_output(self._chars)
        self._observer.finish()
        self.usage = self._observer.usage
        response = self._shape.response_bytes(
            status, self._output, responses_usage(self.usage), incomplete
        )
        self._emit_response(
            out, "response.incomplete" if incomplete else "response.completed", response
        )

    def _failed(self, error_type: str, message: Any, out: list[bytes]) -> None:
        self._start_once(out)
        self._done = True
        self._observer.count_output(self._chars)
        self._observer.finish()
        self.usage = self._observer.usage
        error = {
            "code": FAILURE_CODES.get(error_type, "server_error"),
            "message": message if isinstance(message, str) and message else "upstream error",
        }
        response = self._shape.response_bytes(
            "failed", self._output, responses_usage(self.usage), error=error
        )
        self._emit_response(out, "response.failed", response)
