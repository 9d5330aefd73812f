"""Incremental Server-Sent Events decoding and encoding.

The decoder is fed raw bytes as they arrive from the network, in chunks of any
size, and yields complete events. It follows the WHATWG rules that matter for
LLM APIs: ``\\n`` and ``\\r\\n`` line endings, multi-line ``data``,
comments (``:``) ignored, an event dispatched on a blank line.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = ["SSEDecoder", "SSEEvent", "encode_data", "encode_event"]


@dataclass(slots=True)
class SSEEvent:
    event: str | None
    data: str


class SSEDecoder:
    """Turns a byte stream into :class:`SSEEvent` objects, one chunk at a time."""

    __slots__ = ("_buf", "_data", "_event")

    def __init__(self) -> None:
        self._buf = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk if self._buf else chunk
        events: list[SSEEvent] = []
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line:
                if self._data or self._event is not None:
                    events.append(SSEEvent(self._event, "\n".join(self._data)))
                self._event = None
                self._data = []
                continue
            self._line(line)
        self._buf = buf[start:]
        return events

    def _line(self, line: bytes) -> None:
        if line[:1] == b":":
            return
        field, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if field == b"data":
            self._data.append(text)
        elif field == b"event":
            self._event = text

    def close(self) -> list[SSEEvent]:
        """Flush at end of stream: a final event without its blank line still counts."""
        events = self.feed(b"\n\n") if (self._buf.strip() or self._data) else []
        self._buf = b""
        return events


def encode_event(event: str, data: object) -> bytes:
    """One named event (Anthropic's framing): ``event: X\\ndata: {...}\\n\\n``."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def encode_data(data: object) -> bytes:
    """One unnamed event (OpenAI's and Gemini's framing): ``data: {...}\\n\\n``."""
    return b"data: " + orjson.dumps(data) + b"\n\n"
