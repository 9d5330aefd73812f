"""The log of every request the emulator received.

Tests assert on what the gateway actually sent upstream (URL, headers, body),
so each request is kept with its body parsed when it is JSON.
"""

from __future__ import annotations

import time
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
    """An append-only list the tests read and clear."""

    def __init__(self) -> None:
        self.records: list[RecordedRequest] = []

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
