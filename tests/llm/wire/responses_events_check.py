"""Test helper: a Responses SSE stream checked the way the official ``openai``
SDK reads it (each event validated against its ``ResponseStreamEvent``
model, then fed to the SDK's own stream accumulator, which refuses content
before its item, duplicate output indexes, changed identities and unfinished
items), plus what the SDK leaves unchecked: named events matching their
``type``, sequence numbers from 0 without gaps, one terminal event last."""

from __future__ import annotations

from typing import Any

import orjson
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from lockgate.llm.sse import SSEDecoder

__all__ = ["responses_events", "validate_responses_stream"]

_EVENT = TypeAdapter(ResponseStreamEvent)
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def responses_events(raw: bytes) -> list[dict[str, Any]]:
    """The stream's events as dicts; each SSE event name must be its data's ``type``."""
    decoder = SSEDecoder()
    events = decoder.feed(raw) + decoder.close()
    out = []
    for event in events:
        data = orjson.loads(event.data)
        assert event.event == data["type"], (event.event, data)
        out.append(data)
    return out


def validate_responses_stream(raw: bytes) -> tuple[list[dict[str, Any]], Any]:
    """(the events, the SDK's final response or None when the stream failed)."""
    events = responses_events(raw)
    assert events, "an empty stream"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created", kinds
    assert kinds[-1] in TERMINAL, kinds
    assert not TERMINAL & set(kinds[:-1]), kinds
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    final = None
    for data in events:
        event = _EVENT.validate_python(data)
        state.handle_event(event)  # type: ignore[arg-type]
        if data["type"] == "response.completed":
            final = state._completed_response
    return events, final
