"""Incremental Server-Sent Events decoding and encoding.

The decoder is fed raw bytes as they arrive from the network, in chunks of any
size, and yields complete events. It follows the WHATWG rules that matter for
LLM APIs: ``\\n`` and ``\\r\\n`` line endings, multi-line ``data``,
comments (``:``) ignored, an event dispatched on a blank line.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = ["SSEDataDecoder", "SSEDecoder", "SSEEvent", "encode_data", "encode_event"]


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


class SSEDataDecoder:
    """The ``data`` of each event only, as bytes (what a stream translator
    parses: the event names repeat the data's own ``type``), by the same
    rules as :class:`SSEDecoder`.

    About three times cheaper per event than :class:`SSEDecoder`: whole
    events are cut at blank lines, the common ``event: X`` / ``data: {...}``
    pair is read without a per-line loop, and no text is decoded (orjson
    parses the bytes; a caller decodes them with ``replace`` only when they
    are not valid UTF-8, as :class:`SSEDecoder` would have). Events with no
    ``data`` line are left out; an event whose data is empty gives ``b""``.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        kept = self._buf  # already CRLF-normalized, but for a "\r" at its very end
        if kept[-1:] == b"\r" and chunk[:1] == b"\n":
            kept = kept[:-1]
        if b"\r" in chunk:
            # One "\r" before each "\n" goes, as SSEDecoder strips it from a line.
            chunk = chunk.replace(b"\r\n", b"\n")
        if kept:
            buf = kept + chunk
        else:
            buf = chunk
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return []
        self._buf = buf[end + 2 :]
        out: list[bytes] = []
        for block in buf[:end].split(b"\n\n"):
            if block[:6] == b"data: ":
                if b"\n" not in block:
                    out.append(block[6:])
                    continue
            elif block[:7] == b"event: ":
                nl = block.find(b"\n")
                if nl > 0 and block[nl + 1 : nl + 7] == b"data: " and block.find(b"\n", nl + 1) < 0:
                    out.append(block[nl + 7 :])
                    continue
            data = _block_data(block)
            if data is not None:
                out.append(data)
        return out

    def close(self) -> list[bytes]:
        """Flush at end of stream: a final event without its blank line still counts."""
        events = self.feed(b"\n\n") if self._buf.strip() else []
        self._buf = b""
        return events


def _block_data(block: bytes) -> bytes | None:
    """One event's lines (no blank line among them but leading ones) read
    line by line: comments, other fields, several ``data`` lines."""
    data: list[bytes] | None = None
    for line in block.split(b"\n"):
        if not line or line[:1] == b":":
            continue
        field, sep, value = line.partition(b":")
        if field == b"data":
            if sep and value[:1] == b" ":
                value = value[1:]
            if data is None:
                data = [value]
            else:
                data.append(value)
    return None if data is None else b"\n".join(data)


def encode_event(event: str, data: object) -> bytes:
    """One named event (Anthropic's framing): ``event: X\\ndata: {...}\\n\\n``."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def encode_data(data: object) -> bytes:
    """One unnamed event (OpenAI's and Gemini's framing): ``data: {...}\\n\\n``."""
    return b"data: " + orjson.dumps(data) + b"\n\n"
