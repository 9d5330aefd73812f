"""The log of every request the emulator received.

Tests assert on what the gateway actually sent upstream (URL, headers, body),
so each request is kept with its body parsed when it is JSON. A long-running
emulator (a load test) can keep only the newest requests, or none at all,
which also spares it the JSON parse of every body.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, TypedDict

import orjson

__all__ = ["RecordedRequest", "Recorder", "parse_body"]


class RecordedRequest(TypedDict):
    provider: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    time: float


def parse_body(raw: bytes) -> Any:
    """JSON when it parses, else the text (form bodies, garbage), else None."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


class Recorder:
    """The requests the tests read and clear: all of them by default, the
    newest ``limit`` ones when given, none when ``limit`` is 0."""

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("the record limit cannot be negative")
        self.limit = limit
        self.records: deque[RecordedRequest] = deque(maxlen=limit)

    @property
    def enabled(self) -> bool:
        return self.limit != 0

    def add(
        self,
        provider: str,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        raw_body: bytes,
    ) -> RecordedRequest:
        record = RecordedRequest(
            provider=provider,
            method=method,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in headers.items()},
            body=parse_body(raw_body),
            time=time.time(),
        )
        self.records.append(record)
        return record

    def clear(self) -> None:
        self.records.clear()
